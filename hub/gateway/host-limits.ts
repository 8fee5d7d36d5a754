// What one host may cost the hub, per connection: how fast the hub reads its
// frames, how often it stores its status, how many events and attempts it
// stores, and how large a stored attempt may be. Every number is documented
// in docs/security.md ("Limits on what an agent sends", "Storage").
import type { Attempt } from '../../shared/status.ts';

export const HOST_LIMITS = {
  /** Bytes read from one agent connection per second, and the burst above it; past it the hub stops reading (TCP back-pressure). */
  receiveBytesPerSecond: 1024 * 1024,
  receiveBurstBytes: 4 * 1024 * 1024,
  /** Frames read per second, and the burst (a queue of small events resent after an outage fits in it). */
  receiveFramesPerSecond: 500,
  receiveBurstFrames: 5000,
  /** At most one status write per this interval; statuses arriving in between are coalesced, the newest kept. */
  statusWriteIntervalMs: 500,
  /** Agent events stored per second, and the burst; the rest are acked, counted and dropped. */
  eventsPerSecond: 20,
  eventBurst: 500,
  /** New attempts stored per second, and the burst; the rest are counted and dropped. */
  attemptsPerSecond: 1,
  attemptBurst: 100,
  /** A stored attempt's JSON is at most this many bytes: its step lists are cut, with a marker, to fit. */
  storedAttemptBytes: 16 * 1024,
} as const;

/** A token bucket: `take` spends, refilling at `rate` a second up to `burst`; the level may go negative (a debt). */
export class TokenBucket {
  #level: number;
  #at: number;
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#level = burst;
    this.#at = now();
  }

  private refill(): void {
    const t = this.now();
    this.#level = Math.min(this.burst, this.#level + ((t - this.#at) / 1000) * this.rate);
    this.#at = t;
  }

  /** Spends `n` whatever the level (for what has already arrived); returns the level after. */
  spend(n: number): number {
    this.refill();
    this.#level -= n;
    return this.#level;
  }

  /** Spends `n` only when there are that many tokens. */
  tryTake(n = 1): boolean {
    this.refill();
    if (this.#level < n) return false;
    this.#level -= n;
    return true;
  }

  /** Whole tokens available now. */
  available(): number {
    this.refill();
    return Math.max(0, Math.floor(this.#level));
  }

  /** Milliseconds until the level is back to zero (0 when it is not in debt). */
  msUntilPaid(): number {
    this.refill();
    return this.#level >= 0 ? 0 : Math.ceil((-this.#level / this.rate) * 1000);
  }
}

const MARKER = (n: number) => `… ${n} more step(s) cut by the hub (stored attempts are at most ${HOST_LIMITS.storedAttemptBytes} bytes)`;

/** The attempt as stored: unchanged when it fits HOST_LIMITS.storedAttemptBytes, else its step lists cut to fit, each ending with a marker. */
export function boundAttempt(attempt: Attempt, maxBytes: number = HOST_LIMITS.storedAttemptBytes): Attempt {
  // JSON length in UTF-16 units is within 3× of bytes; a byte count is what the budget is in.
  if (Buffer.byteLength(JSON.stringify(attempt)) <= maxBytes) return attempt;
  const { intended, driftCorrected, ...rest } = attempt;
  const fixed = Buffer.byteLength(JSON.stringify({ ...rest, intended: [], driftCorrected: [] }));
  // Half the remaining budget for each list, less room for the markers.
  const share = Math.max(0, Math.floor((maxBytes - fixed) / 2) - 200);
  const cut = (steps: string[]): string[] => {
    const kept: string[] = [];
    let used = 0;
    for (const s of steps) {
      const size = Buffer.byteLength(JSON.stringify(s)) + 1;
      if (used + size > share) break;
      kept.push(s);
      used += size;
    }
    return kept.length === steps.length ? steps : [...kept, MARKER(steps.length - kept.length)];
  };
  return { ...rest, intended: cut(intended), driftCorrected: cut(driftCorrected) };
}
