// A resource the host keeps breaking (a crashing container, a failing unit) is
// not restarted in a tight loop: after a few drift restarts in a window its
// correction pauses with an exponential, capped backoff, and that is reported.
import type { ResourceId } from '../../shared/resources.ts';

export interface FlapGuardOptions {
  /** Restarts allowed inside the window before backing off. */
  maxRestarts?: number;
  windowMs?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
}

interface Record_ {
  restarts: number[];
  strikes: number;
  pausedUntil: number;
}

export class FlapGuard {
  private readonly records = new Map<ResourceId, Record_>();
  private readonly maxRestarts: number;
  private readonly windowMs: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;

  constructor(options: FlapGuardOptions = {}) {
    this.maxRestarts = options.maxRestarts ?? 3;
    this.windowMs = options.windowMs ?? 60_000;
    this.baseBackoffMs = options.baseBackoffMs ?? 10_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  /** Records one drift restart of `id`. */
  restarted(id: ResourceId): void {
    const now = this.now();
    const record = this.records.get(id) ?? { restarts: [], strikes: 0, pausedUntil: 0 };
    record.restarts = [...record.restarts.filter((t) => now - t < this.windowMs), now];
    if (record.restarts.length > this.maxRestarts) {
      record.strikes++;
      record.pausedUntil = now + Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (record.strikes - 1));
      record.restarts = [];
    }
    this.records.set(id, record);
  }

  /** Resources whose correction is paused now, with the reason to report. */
  suppressed(): Map<ResourceId, string> {
    const now = this.now();
    const out = new Map<ResourceId, string>();
    for (const [id, record] of this.records) {
      if (record.pausedUntil > now) {
        const seconds = Math.ceil((record.pausedUntil - now) / 1000);
        out.set(id, `flapping: restarted more than ${this.maxRestarts} times in ${this.windowMs / 1000}s; next correction in ${seconds}s`);
      }
    }
    return out;
  }

  /** A resource that stayed healthy is forgiven. */
  healthy(id: ResourceId): void {
    const record = this.records.get(id);
    if (record && record.pausedUntil <= this.now() && record.restarts.length === 0) this.records.delete(id);
  }
}
