// Replay protection for webhooks: the deliveries the hub has already acted
// on, remembered for a day and at most `max` of them (oldest forgotten first),
// so memory stays bounded whatever a sender does. Only verified deliveries are
// remembered: unsigned requests cannot fill it.

export const deliveryLogMax = 10_000;
export const deliveryLogTtlMs = 24 * 60 * 60 * 1000;

export class DeliveryLog {
  /** key → expiry time; a Map keeps insertion order, which is expiry order (one TTL for all). */
  readonly #seen = new Map<string, number>();

  constructor(
    private readonly max = deliveryLogMax,
    private readonly ttlMs = deliveryLogTtlMs,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#seen.size;
  }

  /**
   * True when any of the keys was remembered (a replay); otherwise remembers
   * them all and returns false. One call, so two concurrent copies of a
   * delivery cannot both pass.
   */
  replayed(keys: readonly string[]): boolean {
    const now = this.now();
    this.#expire(now);
    if (keys.some((k) => this.#seen.has(k))) return true;
    for (const k of keys) {
      this.#seen.set(k, now + this.ttlMs);
      if (this.#seen.size > this.max) this.#seen.delete(this.#seen.keys().next().value!);
    }
    return false;
  }

  #expire(now: number): void {
    for (const [k, expires] of this.#seen) {
      if (expires > now) break;
      this.#seen.delete(k);
    }
  }
}
