// The agent's own metrics (docs/metrics.md): reconciles by result and their
// duration, drift corrections, resources by sync state, when the enforced
// revision was applied, and source errors. Kept as plain numbers and rendered
// in the text format on demand (prom-text.ts), so an idle agent pays nothing.
import { SyncState, type HostStatus, type Trigger } from '../../shared/status.ts';
import type { Outcome } from '../loop/reconciler.ts';
import { renderFamilies, type Family } from './prom-text.ts';

/** Reconcile duration buckets, in seconds: a no-op pass is milliseconds, a new revision with a health gate a minute. */
export const durationBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] as const;

const results = ['NoChange', 'Succeeded', 'Failed', 'RolledBack', 'Refused'] as const;

export class AgentMetrics {
  readonly #reconciles = new Map<string, number>(results.map((r) => [r, 0]));
  readonly #bucketCounts = durationBuckets.map(() => 0);
  #durationSum = 0;
  #durationCount = 0;
  #driftCorrections = 0;
  readonly #sourceErrors = new Map<string, number>();
  #resources = new Map<string, number>(SyncState.options.map((s) => [s, 0]));
  #lastReconcileAt = 0;
  #appliedAt: number | null = null;
  #converged = 0;
  /** The newest attempt already counted, so an attempt's drift corrections count once. */
  #lastAttemptKey: string | null = null;

  constructor(private readonly host: string) {}

  /** After every reconcile: the outcome, how long it took and the status it left. */
  observe(_trigger: Trigger, outcome: Outcome, durationMs: number, status: HostStatus, now = Date.now()): void {
    this.#reconciles.set(outcome.result, (this.#reconciles.get(outcome.result) ?? 0) + 1);
    const seconds = durationMs / 1000;
    durationBuckets.forEach((le, i) => {
      if (seconds <= le) this.#bucketCounts[i]!++;
    });
    this.#durationSum += seconds;
    this.#durationCount++;
    this.#lastReconcileAt = now / 1000;
    this.#converged = outcome.converged ? 1 : 0;
    // Attempts are newest first; count the drift corrections of those newer than the last one counted.
    const fresh: HostStatus['attempts'] = [];
    for (const a of status.attempts) {
      const key = `${a.startedAt} ${a.revision} ${a.trigger}`;
      if (key === this.#lastAttemptKey) break;
      fresh.push(a);
    }
    if (status.attempts[0]) this.#lastAttemptKey = `${status.attempts[0].startedAt} ${status.attempts[0].revision} ${status.attempts[0].trigger}`;
    for (const a of fresh) if (a.trigger !== 'rollback') this.#driftCorrections += a.driftCorrected.length;
    const resources = new Map<string, number>(SyncState.options.map((s) => [s, 0]));
    for (const r of status.resources) resources.set(r.sync, (resources.get(r.sync) ?? 0) + 1);
    this.#resources = resources;
    this.#appliedAt = appliedSince(status);
  }

  sourceError(code: string): void {
    this.#sourceErrors.set(code, (this.#sourceErrors.get(code) ?? 0) + 1);
  }

  render(): string {
    const host = { host: this.host };
    // Each bucket already counts every reconcile at or under its bound (cumulative, as the format wants).
    const buckets = durationBuckets.map((le, i) => ({ suffix: '_bucket', labels: { ...host, le: String(le) }, value: this.#bucketCounts[i]! }));
    const families: Family[] = [
      {
        name: 'gitfleet_agent_reconciles_total',
        help: 'Reconciles that finished, by result (NoChange: the host already matched)',
        type: 'counter',
        samples: [...this.#reconciles].map(([result, value]) => ({ labels: { ...host, result }, value })),
      },
      {
        name: 'gitfleet_agent_reconcile_duration_seconds',
        help: 'How long a reconcile took, health gate included',
        type: 'histogram',
        samples: [
          ...buckets,
          { suffix: '_bucket', labels: { ...host, le: '+Inf' }, value: this.#durationCount },
          { suffix: '_sum', labels: host, value: this.#durationSum },
          { suffix: '_count', labels: host, value: this.#durationCount },
        ],
      },
      { name: 'gitfleet_agent_drift_corrections_total', help: 'Resources put back after a change made on the host by hand', type: 'counter', samples: [{ labels: host, value: this.#driftCorrections }] },
      {
        name: 'gitfleet_agent_resources',
        help: 'Resources of the host by sync state, after the last reconcile',
        type: 'gauge',
        samples: [...this.#resources].map(([sync, value]) => ({ labels: { ...host, sync }, value })),
      },
      { name: 'gitfleet_agent_converged', help: '1 when the last reconcile left the host converged at the head, else 0', type: 'gauge', samples: [{ labels: host, value: this.#converged }] },
      {
        name: 'gitfleet_agent_last_reconcile_timestamp_seconds',
        help: 'When the last reconcile finished (Unix time)',
        type: 'gauge',
        samples: [{ labels: host, value: this.#lastReconcileAt }],
      },
      {
        name: 'gitfleet_agent_source_errors_total',
        help: 'Times the fleet repository could not be read or its head was refused, by error code',
        type: 'counter',
        samples: [...this.#sourceErrors].map(([code, value]) => ({ labels: { ...host, code }, value })),
      },
    ];
    if (this.#appliedAt !== null) {
      families.push({
        name: 'gitfleet_agent_last_applied_revision_timestamp_seconds',
        help: 'When the revision the host enforces was applied (Unix time; absent before the first)',
        type: 'gauge',
        samples: [{ labels: host, value: this.#appliedAt }],
      });
    }
    return renderFamilies(families);
  }
}

/**
 * When the revision the host enforces was applied, from the attempts it keeps
 * (newest first): the oldest successful attempt of that revision since the
 * host last ran another one. Failed or refused attempts of other revisions
 * never moved the host, so they do not end the run.
 */
export function appliedSince(status: HostStatus): number | null {
  const revision = status.lastAppliedRevision;
  if (!revision) return null;
  let since: string | null = null;
  for (const a of status.attempts) {
    const moved = a.result === 'Succeeded' || a.result === 'RolledBack';
    if (a.revision !== revision) {
      if (moved) break;
      continue;
    }
    if (moved) since = a.startedAt;
  }
  if (since === null) return null;
  const ms = Date.parse(since);
  return Number.isNaN(ms) ? null : ms / 1000;
}
