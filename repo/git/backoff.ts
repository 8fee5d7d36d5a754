// Exponential backoff with "equal jitter": the delay is uniform in
// [c/2, c] where c = min(max, base·2^attempt). Jitter keeps a fleet of agents
// that lost the same Git server from retrying in lockstep when it comes back;
// the lower half-bound keeps a retry from ever being immediate.

export interface BackoffOptions {
  /** The first ceiling (attempt 0). Default 1 s. */
  baseMs?: number;
  /** The ceiling never grows past this. Default 5 min. */
  maxMs?: number;
  /** Injected for tests; default Math.random. */
  random?: () => number;
}

/** The delay before retry number `attempt` (0 = the first retry), in milliseconds. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const baseMs = options.baseMs ?? 1000;
  const maxMs = options.maxMs ?? 300_000;
  const random = options.random ?? Math.random;
  if (!Number.isFinite(attempt) || attempt < 0) attempt = 0;
  // 2^attempt overflows to Infinity for large attempts; min() keeps it finite.
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 1024));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(ceiling / 2 + (ceiling / 2) * r);
}
