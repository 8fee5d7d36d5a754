// Throttles token guessing: failed API tokens are counted per remote address
// in fixed windows; an address past the limit is answered 429 on every
// token-protected route until its window ends (even with a right token, or a
// guess could still be confirmed). The table is bounded so a flood of
// addresses cannot grow it without limit.
import { isIPv6 } from 'node:net';

export const TOKEN_FAILURE_LIMIT = 20;
export const TOKEN_FAILURE_WINDOW_MS = 60_000;
/** Addresses tracked at once; past it, expired windows go first, then the oldest. */
export const TOKEN_FAILURE_MAX_ADDRESSES = 10_000;

interface Window {
  start: number;
  failures: number;
}

export interface FailureThrottleOptions {
  limit?: number;
  windowMs?: number;
  maxAddresses?: number;
  now?: () => number;
  /** Called once per address and window, when the address reaches the limit. */
  onLimitReached?: (address: string, failures: number, retryAfterSeconds: number) => void;
}

/**
 * The key an address is counted under: IPv4 as is, IPv6 by its /64 (one
 * client usually holds a whole /64, so counting single addresses would let it
 * rotate freely), IPv4-mapped IPv6 as the IPv4 address.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export class FailureThrottle {
  readonly limit: number;
  readonly windowMs: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;
  readonly #onLimitReached: FailureThrottleOptions['onLimitReached'];
  readonly #windows = new Map<string, Window>();

  constructor(o: FailureThrottleOptions = {}) {
    this.limit = o.limit ?? TOKEN_FAILURE_LIMIT;
    this.windowMs = o.windowMs ?? TOKEN_FAILURE_WINDOW_MS;
    this.#maxAddresses = o.maxAddresses ?? TOKEN_FAILURE_MAX_ADDRESSES;
    this.#now = o.now ?? Date.now;
    this.#onLimitReached = o.onLimitReached;
  }

  /** Seconds until the address may try again, or null when it is not throttled. */
  retryAfter(address: string): number | null {
    const w = this.#current(addressKey(address));
    if (!w || w.failures < this.limit) return null;
    return Math.max(1, Math.ceil((w.start + this.windowMs - this.#now()) / 1000));
  }

  /** Counts one failed token from the address. */
  fail(address: string): void {
    const key = addressKey(address);
    let w = this.#current(key);
    if (!w) {
      this.#makeRoom();
      w = { start: this.#now(), failures: 0 };
      this.#windows.set(key, w);
    }
    w.failures++;
    if (w.failures === this.limit) this.#onLimitReached?.(key, w.failures, this.retryAfter(address) ?? 1);
  }

  get trackedAddresses(): number {
    return this.#windows.size;
  }

  #current(key: string): Window | undefined {
    const w = this.#windows.get(key);
    if (w && this.#now() - w.start >= this.windowMs) {
      this.#windows.delete(key);
      return undefined;
    }
    return w;
  }

  #makeRoom(): void {
    if (this.#windows.size < this.#maxAddresses) return;
    const now = this.#now();
    for (const [key, w] of this.#windows) if (now - w.start >= this.windowMs) this.#windows.delete(key);
    // Still full: the oldest window goes (Map keeps insertion order).
    while (this.#windows.size >= this.#maxAddresses) this.#windows.delete(this.#windows.keys().next().value!);
  }
}
