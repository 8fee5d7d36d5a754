// Exponential backoff for everything that retries: the Git source, the hub
// connection, the agent's retry of a revision that failed on the host.
//
// The ceiling doubles per attempt: c = min(max, base·2^attempt). Two jitters:
// - "equal" (the default): uniform in [c/2, c]. Keeps a fleet of agents that
//   lost the same server from retrying in lockstep; never immediate.
// - a fraction f: uniform in [c·(1−f), c]. Keeps the schedule close to the
//   documented one (1m, 2m, 4m … 30m) while still spreading a fleet out.

export interface BackoffOptions {
  /** The first ceiling (attempt 0). Default 1 s. */
  baseMs?: number;
  /** The ceiling never grows past this. Default 5 min. */
  maxMs?: number;
  /** 'equal' (default) or the fraction the delay may fall below its ceiling. */
  jitter?: 'equal' | number;
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
  const jitter = options.jitter ?? 'equal';
  if (jitter === 'equal') return Math.round(ceiling / 2 + (ceiling / 2) * r);
  const f = Math.min(Math.max(jitter, 0), 1);
  return Math.round(ceiling * (1 - f * r));
}
