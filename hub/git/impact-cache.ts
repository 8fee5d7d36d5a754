// The impact preview of each new head the hub sees (docs/rollouts.md, "Impact
// preview"): previous head → new head, computed in the background one at a
// time, each bounded in time, cached per revision pair, the newest few kept.
// Rendering a 10,000-host tree twice takes seconds; the loader yields to the
// event loop in small batches, so agents and API calls are served meanwhile.
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { Impact } from '../../repo/impact/types.ts';

/** Impacts kept (the oldest go first). */
export const MAX_IMPACTS = 32;
/** Affected hosts kept over all impacts (a 10,000-host change is megabytes): past it, the oldest impacts go. */
export const MAX_KEPT_HOSTS = 50_000;
/** A computation that takes longer is given up (the fleet is too big or the machine too busy). */
export const IMPACT_TIMEOUT_MS = 120_000;
/** New heads waiting behind a computation; past it the oldest waiting ones are skipped. */
const MAX_WAITING = 4;

export type ImpactStatus = 'computing' | 'ready' | 'failed' | 'no-base';

export interface ImpactEntry {
  /** The new head. */
  to: string;
  /** The head before it, or null for the first head this hub saw. */
  from: string | null;
  status: ImpactStatus;
  impact?: Impact;
  /** Why it failed (a render error at either revision, a revision not fetched, a timeout). */
  error?: string;
  /** How long the computation took. */
  ms?: number;
  seenAt: string;
}

export type ComputeImpact = (from: string, to: string) => Promise<Impact>;

export class ImpactCache {
  readonly #compute: ComputeImpact | null;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #entries = new Map<string, ImpactEntry>();
  readonly #waiting: ImpactEntry[] = [];
  #busy = false;

  constructor(compute: ComputeImpact | null, logger: Logger, options: { timeoutMs?: number } = {}) {
    this.#compute = compute;
    this.#log = logger.child({ component: 'impact' });
    this.#timeoutMs = options.timeoutMs ?? IMPACT_TIMEOUT_MS;
  }

  /** A new head: its impact against the previous one is queued. */
  headChanged(from: string | null, to: string): void {
    if (this.#compute === null) return;
    const entry: ImpactEntry = { to, from, status: from === null ? 'no-base' : 'computing', seenAt: new Date().toISOString() };
    if (from === null) entry.error = 'the first head this hub saw: no earlier head to compare with';
    this.#entries.delete(to);
    this.#entries.set(to, entry);
    this.#evict();
    if (from === null) return;
    this.#waiting.push(entry);
    while (this.#waiting.length > MAX_WAITING) {
      const skipped = this.#waiting.shift()!;
      skipped.status = 'failed';
      skipped.error = 'skipped: newer heads arrived faster than impacts could be computed';
    }
    void this.#drain();
  }

  /** Oldest first, down to MAX_IMPACTS entries and MAX_KEPT_HOSTS affected hosts (the newest is always kept). */
  #evict(): void {
    let hosts = 0;
    for (const e of this.#entries.values()) hosts += e.impact?.hosts.length ?? 0;
    while (this.#entries.size > 1 && (this.#entries.size > MAX_IMPACTS || hosts > MAX_KEPT_HOSTS)) {
      const oldest = this.#entries.keys().next().value as string;
      hosts -= this.#entries.get(oldest)!.impact?.hosts.length ?? 0;
      this.#entries.delete(oldest);
    }
  }

  /** The impact of a head by its full id or a unique prefix of at least 7 hex digits. */
  get(rev: string): ImpactEntry | undefined {
    const exact = this.#entries.get(rev);
    if (exact) return exact;
    const matches = [...this.#entries.values()].filter((e) => e.to.startsWith(rev));
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** Every kept entry, newest first. */
  list(): ImpactEntry[] {
    return [...this.#entries.values()].reverse();
  }

  async #drain(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let entry = this.#waiting.shift(); entry; entry = this.#waiting.shift()) await this.#run(entry);
    } finally {
      this.#busy = false;
    }
  }

  async #run(entry: ImpactEntry): Promise<void> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`took longer than ${Math.round(this.#timeoutMs / 1000)} s; given up`)), this.#timeoutMs);
      timer.unref();
    });
    try {
      entry.impact = await Promise.race([this.#compute!(entry.from!, entry.to), timeout]);
      entry.status = 'ready';
      entry.ms = Math.round(performance.now() - started);
      this.#evict();
      this.#log.info({ from: entry.from, to: entry.to, affected: entry.impact.affected, hosts: entry.impact.total, ms: entry.ms }, 'impact of the new head');
    } catch (error) {
      entry.status = 'failed';
      entry.error = messageOf(error);
      entry.ms = Math.round(performance.now() - started);
      this.#log.warn({ from: entry.from, to: entry.to, err: error }, `impact of the new head could not be computed: ${entry.error}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
