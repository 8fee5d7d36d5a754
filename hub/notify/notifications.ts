// Notifications and commit status write-back, put together for the hub
// (hub/main.ts): the host problem tracker fed by the fleet index, one
// bounded delivery queue with its metrics, the notifier (hub config
// `notify:`) and the commit status reporter (`commitStatus:`). Absent
// sections build nothing; with neither, the hub has no notifications at all.
import type { Logger } from 'pino';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import type { HubMetrics } from '../metrics.ts';
import { SecretValues } from '../../shared/secrets/mask.ts';
import type { NotifyConfig } from './notify-config.ts';
import type { CommitStatusConfig } from '../forge-status/forge-config.ts';
import { HostProblemTracker } from './host-problems.ts';
import { DeliveryQueue } from './delivery-queue.ts';
import type { LaneStats } from './delivery-queue.ts';
import { Notifier, sinkLane } from './notifier.ts';
import type { RolloutHalted } from './notifier.ts';
import { CommitStatusReporter, FORGE_LANE } from '../forge-status/commit-status-reporter.ts';
import type { CommitStatusView } from '../forge-status/commit-status-reporter.ts';
import { boundText } from './bound-text.ts';

/** What GET /api/v1/notifications and the web view show. */
export interface NotificationsView {
  enabled: boolean;
  queued: number;
  sinks: Array<{ name: string; type: string } & LaneStats>;
  commitStatus: (CommitStatusView & LaneStats) | null;
}

export class Notifications {
  readonly #queue: DeliveryQueue;
  readonly #tracker: HostProblemTracker;
  readonly #notifier: Notifier | null;
  readonly #reporter: CommitStatusReporter | null;
  readonly #sinkTypes: Map<string, string>;
  readonly #index: FleetIndex;

  constructor(o: { notify?: NotifyConfig | undefined; commitStatus?: CommitStatusConfig | undefined; index: FleetIndex; metrics: HubMetrics; logger: Logger; hubSecrets: readonly string[] }) {
    this.#index = o.index;
    // Every secret the hub holds is masked out of whatever a host reported before it reaches a receiver.
    const secrets = new SecretValues();
    secrets.add([...o.hubSecrets, ...(o.notify?.sinks ?? []).flatMap((s) => (s.type === 'webhook' ? [s.secret] : s.type === 'slack' ? [s.url] : s.type === 'ntfy' && s.token ? [s.token] : [])), ...(o.commitStatus ? [o.commitStatus.token] : [])]);
    const forge = o.commitStatus?.forge ?? '';
    this.#queue = new DeliveryQueue({
      capacity: o.notify?.queueSize ?? 1000,
      onResult: (lane, result) => {
        if (lane === FORGE_LANE) o.metrics.commitStatuses.inc({ forge, result });
        else o.metrics.notifications.inc({ sink: lane.slice('sink:'.length), result });
        // Given up or dropped is something an operator should read about; a retry is not (yet).
        if (result === 'failed' || result === 'dropped') o.logger.warn({ lane, result, error: this.#queue.stats()[lane]?.lastError ?? null }, result === 'failed' ? `${lane}: delivery given up` : `${lane}: the delivery queue is full, the oldest waiting delivery was dropped`);
      },
      onLength: (n) => o.metrics.deliveryQueue.set(n),
      describeError: (e) => boundText(secrets.mask(e instanceof Error ? e.message : String(e)), 300),
    });
    this.#tracker = new HostProblemTracker(secrets);
    this.#sinkTypes = new Map((o.notify?.sinks ?? []).map((s) => [s.name, s.type]));
    this.#notifier = o.notify ? new Notifier({ config: o.notify, index: o.index, tracker: this.#tracker, queue: this.#queue, logger: o.logger }) : null;
    this.#reporter = o.commitStatus ? new CommitStatusReporter({ config: o.commitStatus, index: o.index, tracker: this.#tracker, queue: this.#queue, logger: o.logger }) : null;
    // Every sink and the forge start at zero in /metrics, so a rate or an alert has its series before the first failure.
    for (const s of o.notify?.sinks ?? []) for (const result of ['delivered', 'retried', 'failed', 'dropped']) o.metrics.notifications.inc({ sink: s.name, result }, 0);
    if (o.commitStatus) for (const result of ['delivered', 'retried', 'failed', 'dropped']) o.metrics.commitStatuses.inc({ forge, result }, 0);
    o.index.observe({
      status: (id, status) => this.#tracker.status(id, status),
      connected: (id, online) => this.#tracker.connected(id, online),
      removed: (id) => this.#tracker.removed(id),
    });
  }

  /** The fleet's head moved: the commit status and "applied fleet-wide" look again. */
  headChanged(): void {
    this.#reporter?.schedule();
    this.#notifier?.checkHead();
  }

  /**
   * A rollout halted (hub/rollout): rules with the `rolloutHalted` event whose
   * tags overlap the rollout's tag send one message to their sinks.
   */
  rolloutHalted(e: RolloutHalted): void {
    // A host named without a message gets the one its problem carries (failed, rolled back or refused on the revision).
    const hosts = (e.hosts ?? []).map((h) => {
      const p = this.#tracker.problems(h.id);
      return { id: h.id, message: h.message ?? p.failed?.message ?? p.rolledBack?.message ?? p.refused?.message ?? '' };
    });
    this.#notifier?.rolloutHalted({ ...e, hosts });
  }

  view(): NotificationsView {
    const stats = this.#queue.stats();
    return {
      enabled: this.#notifier !== null || this.#reporter !== null,
      queued: this.#queue.length,
      sinks: [...this.#sinkTypes].map(([name, type]) => ({ name, type, ...stats[sinkLane(name)]! })),
      commitStatus: this.#reporter ? { ...this.#reporter.view(), ...stats[FORGE_LANE]! } : null,
    };
  }

  /** Before the gateway closes its sessions (that would read as every host going offline). */
  stop(): void {
    this.#index.observe(null);
    this.#notifier?.stop();
    this.#reporter?.stop();
    this.#queue.stop();
  }
}
