// The fleet's history (docs/hub.md, "History"): once a minute the hub counts
// hosts by sync state, for the whole fleet and for every tag, from the
// in-memory index, and stores the point at two resolutions: the minute itself
// (kept a day) and the hour's running average (kept a week). Nothing is read
// back to compute an hour: the average of the minutes seen so far is kept in
// memory and the hour's point is rewritten each minute, so a restart mid-hour
// loses only the minutes before it from that hour's average.
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import { DEFAULT_TRACKED_TAGS, trackedTags } from '../fleet/tracked-tags.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import { historyResolutions } from '../store/fleet-records.ts';
import type { HistoryBucket } from '../store/fleet-records.ts';

type Counts = Record<string, number>;

/** Hosts by sync state for the fleet ('') and every tracked tag, zero counts left out. */
export function sampleFleet(index: FleetIndex, maxTags = DEFAULT_TRACKED_TAGS): Map<string, Counts> {
  const scopes = new Map<string, Counts>();
  const nonZero = (counts: Partial<Record<string, number>>): Counts => Object.fromEntries(Object.entries(counts).filter(([, n]) => (n ?? 0) > 0)) as Counts;
  scopes.set('', nonZero(index.summary().sync));
  for (const n of trackedTags(index.tagTree(), maxTags).kept) scopes.set(n.tag, nonZero(n.sync));
  return scopes;
}

export function bucketStart(ms: number, bucketMs: number): number {
  return Math.floor(ms / bucketMs) * bucketMs;
}

export class HistorySampler {
  #timer: NodeJS.Timeout | null = null;
  #hour: { start: number; samples: number; sums: Map<string, Counts> } | null = null;
  #running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: FleetStore,
    private readonly index: FleetIndex,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    /** Hub config `trackedTags`: agents choose their tags, so the rows a minute must not be theirs to choose. */
    private readonly maxTags = DEFAULT_TRACKED_TAGS,
  ) {}

  /** Samples now, then at the start of every minute. */
  start(): void {
    void this.sample();
    const schedule = () => {
      const ms = historyResolutions['1m'].bucketMs;
      this.#timer = setTimeout(() => {
        void this.sample();
        schedule();
      }, ms - (this.now() % ms) + 50);
      this.#timer.unref();
    };
    schedule();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** One sample: the minute's point and the hour's running average. Errors are logged, never thrown. */
  sample(): Promise<void> {
    this.#running = this.#running.then(async () => {
      const now = this.now();
      const scopes = sampleFleet(this.index, this.maxTags);
      try {
        const minute = historyResolutions['1m'];
        await this.store.saveHistory(this.bucket('1m', bucketStart(now, minute.bucketMs), scopes), new Date(now - minute.keepMs).toISOString());
        const hour = historyResolutions['1h'];
        await this.store.saveHistory(this.bucket('1h', bucketStart(now, hour.bucketMs), this.hourAverage(bucketStart(now, hour.bucketMs), scopes)), new Date(now - hour.keepMs).toISOString());
      } catch (error) {
        this.logger.warn({ err: messageOf(error) }, 'could not store the fleet history point');
      }
    });
    return this.#running;
  }

  private bucket(resolution: HistoryBucket['resolution'], start: number, scopes: Map<string, Counts>): HistoryBucket {
    return { resolution, at: new Date(start).toISOString(), scopes: [...scopes].map(([scope, counts]) => ({ scope, counts })) };
  }

  /** The average of this hour's samples so far, per scope and state (rounded to a tenth of a host). */
  private hourAverage(start: number, scopes: Map<string, Counts>): Map<string, Counts> {
    if (this.#hour?.start !== start) this.#hour = { start, samples: 0, sums: new Map() };
    const hour = this.#hour;
    hour.samples++;
    for (const [scope, counts] of scopes) {
      const sums = hour.sums.get(scope) ?? {};
      for (const [state, n] of Object.entries(counts)) sums[state] = (sums[state] ?? 0) + n;
      hour.sums.set(scope, sums);
    }
    const averages = new Map<string, Counts>();
    for (const [scope, sums] of hour.sums) {
      averages.set(scope, Object.fromEntries(Object.entries(sums).map(([state, sum]) => [state, Math.round((sum / hour.samples) * 10) / 10])));
    }
    return averages;
  }
}
