// Deliveries to slow or failing receivers, off the event loop's critical
// path: every job waits in one bounded queue (full: the oldest waiting job is
// dropped and counted, so memory never grows with an unreachable receiver),
// each lane (a sink, or the forge) sends one job at a time, at most one start
// per `minIntervalMs`, and a failed try is retried with exponential backoff
// and jitter (shared/backoff.ts) until its attempts are used up. A job with a
// `key` replaces a waiting job with the same key (a newer commit status
// supersedes the one not yet sent).
import { backoffDelay } from '../../shared/backoff.ts';
import { messageOf } from '../../shared/errors.ts';
import type { RetryPolicy } from './notify-config.ts';

/** A failure the receiver will not change its mind about (a 4xx): not retried. */
export class PermanentDeliveryError extends Error {}

export type DeliveryResult = 'delivered' | 'retried' | 'failed' | 'dropped';

export interface LaneOptions {
  retry: RetryPolicy;
  minIntervalMs?: number;
}

export interface LaneStats {
  delivered: number;
  retried: number;
  failed: number;
  dropped: number;
  queued: number;
  lastDeliveredAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
}

interface Job {
  lane: string;
  key: string | null;
  run: () => Promise<void>;
  tries: number;
  notBefore: number;
}

interface Lane extends LaneOptions {
  busy: boolean;
  lastStart: number;
  stats: LaneStats;
}

export class DeliveryQueue {
  readonly #capacity: number;
  readonly #lanes = new Map<string, Lane>();
  #jobs: Job[] = [];
  #timer: NodeJS.Timeout | null = null;
  #timerAt = 0;
  #stopped = false;
  readonly #onResult: (lane: string, result: DeliveryResult) => void;
  readonly #onLength: (length: number) => void;
  readonly #describe: (error: unknown) => string;

  constructor(o: { capacity: number; onResult?: (lane: string, result: DeliveryResult) => void; onLength?: (length: number) => void; describeError?: (error: unknown) => string }) {
    this.#capacity = o.capacity;
    this.#onResult = o.onResult ?? (() => {});
    this.#onLength = o.onLength ?? (() => {});
    this.#describe = o.describeError ?? messageOf;
  }

  /** A lane added again (the sender restarted, e.g. a new cluster leader) keeps its counters. */
  addLane(name: string, options: LaneOptions): void {
    if (this.#lanes.has(name)) return;
    this.#lanes.set(name, {
      ...options,
      busy: false,
      lastStart: 0,
      stats: { delivered: 0, retried: 0, failed: 0, dropped: 0, queued: 0, lastDeliveredAt: null, lastError: null, lastErrorAt: null },
    });
  }

  get length(): number {
    return this.#jobs.length;
  }

  stats(): Record<string, LaneStats> {
    return Object.fromEntries([...this.#lanes].map(([name, l]) => [name, { ...l.stats, queued: this.#jobs.filter((j) => j.lane === name).length }]));
  }

  enqueue(lane: string, run: () => Promise<void>, key: string | null = null): void {
    if (this.#stopped) return;
    const l = this.#lanes.get(lane);
    if (!l) throw new Error(`no delivery lane ${lane}`);
    const job: Job = { lane, key, run, tries: 0, notBefore: 0 };
    const same = key === null ? -1 : this.#jobs.findIndex((j) => j.key === key && j.lane === lane);
    if (same >= 0) this.#jobs[same] = job;
    else {
      if (this.#jobs.length >= this.#capacity) {
        const dropped = this.#jobs.shift()!;
        this.count(dropped.lane, 'dropped');
      }
      this.#jobs.push(job);
    }
    this.#onLength(this.#jobs.length);
    this.pump();
  }

  private count(lane: string, result: DeliveryResult): void {
    const l = this.#lanes.get(lane);
    if (l) l.stats[result]++;
    this.#onResult(lane, result);
  }

  /** Starts what may start now; sets one timer for the earliest job that must wait. */
  private pump(): void {
    if (this.#stopped) return;
    const now = Date.now();
    let wakeAt = Infinity;
    for (const [name, lane] of this.#lanes) {
      if (lane.busy) continue;
      const earliest = this.earliest(name);
      if (earliest === Infinity) continue;
      const startAt = Math.max(earliest, lane.lastStart + (lane.minIntervalMs ?? 0));
      if (startAt <= now) this.start(lane, this.#jobs.find((j) => j.lane === name && j.notBefore <= now)!);
      else wakeAt = Math.min(wakeAt, startAt);
    }
    if (wakeAt === Infinity) return;
    if (this.#timer !== null && this.#timerAt <= wakeAt) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerAt = wakeAt;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.pump();
    }, Math.max(0, wakeAt - now));
    this.#timer.unref();
  }

  private earliest(lane: string): number {
    let at = Infinity;
    for (const j of this.#jobs) if (j.lane === lane) at = Math.min(at, j.notBefore);
    return at;
  }

  private start(lane: Lane, job: Job): void {
    this.#jobs.splice(this.#jobs.indexOf(job), 1);
    this.#onLength(this.#jobs.length);
    lane.busy = true;
    lane.lastStart = Date.now();
    job.tries++;
    job.run().then(
      () => {
        lane.stats.lastDeliveredAt = new Date().toISOString();
        this.count(job.lane, 'delivered');
      },
      (error: unknown) => {
        lane.stats.lastError = this.#describe(error);
        lane.stats.lastErrorAt = new Date().toISOString();
        const superseded = job.key !== null && this.#jobs.some((j) => j.key === job.key && j.lane === job.lane);
        if (error instanceof PermanentDeliveryError || job.tries >= lane.retry.attempts || superseded || this.#stopped) {
          this.count(job.lane, 'failed');
          return;
        }
        this.count(job.lane, 'retried');
        job.notBefore = Date.now() + backoffDelay(job.tries - 1, { baseMs: lane.retry.initialDelayMs, maxMs: lane.retry.maxDelayMs });
        // Back in at its old place in the order: it is older than anything queued since.
        if (this.#jobs.length >= this.#capacity) this.count(job.lane, 'dropped');
        else this.#jobs.unshift(job);
        this.#onLength(this.#jobs.length);
      },
    ).finally(() => {
      lane.busy = false;
      this.pump();
    });
  }

  /** Stops starting jobs (those running finish); what waits is dropped uncounted: the hub is stopping. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#jobs = [];
  }
}
