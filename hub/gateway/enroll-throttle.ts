// Fixed-window counters for enrollment attempts, keyed by remote address or
// by token: a leaked token or a scanner cannot enroll invented host ids (or
// guess tokens) faster than the limit. Memory is bounded: past maxKeys the
// oldest keys are forgotten (an attacker who owns that many addresses gains
// nothing from it that the addresses did not give them already).

export interface ThrottleLimit {
  /** Attempts allowed per window. */
  limit: number;
  windowMs: number;
}

interface Window {
  start: number;
  count: number;
  /** A refusal in this window was already reported (logged once per window). */
  reported: boolean;
}

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterMs: number; firstRefusal: boolean };

export class EnrollThrottle {
  readonly #windows = new Map<string, Window>();
  readonly #limit: ThrottleLimit;
  readonly #maxKeys: number;
  readonly #now: () => number;

  constructor(limit: ThrottleLimit, options: { maxKeys?: number; now?: () => number } = {}) {
    this.#limit = limit;
    this.#maxKeys = options.maxKeys ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Counts one attempt for `key`; refused once the window's limit is reached. */
  take(key: string): ThrottleVerdict {
    const now = this.#now();
    let w = this.#windows.get(key);
    if (!w || now - w.start >= this.#limit.windowMs) {
      if (w) this.#windows.delete(key);
      w = { start: now, count: 0, reported: false };
      this.#windows.set(key, w);
      this.evict(now);
    }
    if (w.count >= this.#limit.limit) {
      const firstRefusal = !w.reported;
      w.reported = true;
      return { allowed: false, retryAfterMs: w.start + this.#limit.windowMs - now, firstRefusal };
    }
    w.count++;
    return { allowed: true };
  }

  get size(): number {
    return this.#windows.size;
  }

  private evict(now: number): void {
    if (this.#windows.size <= this.#maxKeys) return;
    for (const [key, w] of this.#windows) {
      if (this.#windows.size <= this.#maxKeys) return;
      // Insertion order is oldest first; expired windows go, then the oldest live ones.
      if (now - w.start >= this.#limit.windowMs || this.#windows.size > this.#maxKeys) this.#windows.delete(key);
    }
  }
}
