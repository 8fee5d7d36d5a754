// Notifications and commit status write-back, put together for the hub
// (hub/main.ts): the host problem tracker fed by the fleet index, one
// bounded delivery queue with its metrics, the notifier (hub config
// `notify:`) and the commit status reporter (`commitStatus:`). Absent
// sections build nothing; with neither, the hub has no notifications at all.
// One process sends (docs/notifications.md): a single hub from start() to
// stop(), on a cluster the leader replica while it leads (start('fleet') on
// gaining the lock: fed from the whole fleet, not its own sessions). Each
// start picks up the state the previous sender saved (notify-state.ts).
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
import type { FleetStore } from '../store/fleet-store.ts';
import { NotifyState } from './notify-state.ts';
import { FleetProblemFeed } from './fleet-problem-feed.ts';
import { messageOf } from '../../shared/errors.ts';

/** What GET /api/v1/notifications and the web view show. */
export interface NotificationsView {
  enabled: boolean;
  /** This process sends notifications now (on a cluster: it is the leader); the counters are its own deliveries. */
  sending: boolean;
  queued: number;
  sinks: Array<{ name: string; type: string } & LaneStats>;
  commitStatus: (CommitStatusView & LaneStats) | null;
}

/** Where the problems come from: this process's own agent sessions (a single hub), or the whole fleet's index (a cluster's leader). */
export type NotifySource = 'local' | 'fleet';

/** What exists while this process sends. */
interface Sending {
  tracker: HostProblemTracker;
  notifier: Notifier | null;
  reporter: CommitStatusReporter | null;
  feed: FleetProblemFeed | null;
}

export class Notifications {
  readonly #queue: DeliveryQueue;
  readonly #sinkTypes: Map<string, string>;
  readonly #index: FleetIndex;
  readonly #o: { notify?: NotifyConfig | undefined; commitStatus?: CommitStatusConfig | undefined; index: FleetIndex; store?: FleetStore | undefined; logger: Logger };
  readonly #secrets: SecretValues;
  readonly #state: NotifyState | null;
  #sending: Sending | null = null;
  /** Bumped by every start and stop: a start that awaited the store gives up when it is no longer current. */
  #generation = 0;

  /** `store`: where the state is saved across restarts and leader changes (none: in memory only). */
  constructor(o: { notify?: NotifyConfig | undefined; commitStatus?: CommitStatusConfig | undefined; index: FleetIndex; store?: FleetStore | undefined; metrics: HubMetrics; logger: Logger; hubSecrets: readonly string[] }) {
    this.#o = o;
    this.#index = o.index;
    this.#state = o.store ? new NotifyState(o.store, o.logger) : null;
    // Every secret the hub holds is masked out of whatever a host reported before it reaches a receiver.
    const secrets = new SecretValues();
    secrets.add([...o.hubSecrets, ...(o.notify?.sinks ?? []).flatMap((s) => (s.type === 'webhook' ? [s.secret] : s.type === 'slack' ? [s.url] : s.type === 'ntfy' && s.token ? [s.token] : [])), ...(o.commitStatus ? [o.commitStatus.token] : [])]);
    this.#secrets = secrets;
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
    this.#sinkTypes = new Map((o.notify?.sinks ?? []).map((s) => [s.name, s.type]));
    // Every sink and the forge start at zero in /metrics, so a rate or an alert has its series before the first failure.
    for (const s of o.notify?.sinks ?? []) for (const result of ['delivered', 'retried', 'failed', 'dropped']) o.metrics.notifications.inc({ sink: s.name, result }, 0);
    if (o.commitStatus) for (const result of ['delivered', 'retried', 'failed', 'dropped']) o.metrics.commitStatuses.inc({ forge, result }, 0);
  }

  /** True while this process sends. */
  get sending(): boolean {
    return this.#sending !== null;
  }

  /**
   * Begins sending: takes over the saved state (groups and the hosts they
   * named, commit statuses posted, heads announced), feeds the hosts' current
   * problems (statuses from the store) so hosts already named stay quiet and
   * those that recovered meanwhile get their recovery, then follows changes.
   * Resolves when it follows; errors are logged (it then follows from now on).
   */
  async start(source: NotifySource = 'local'): Promise<void> {
    this.stop();
    const generation = ++this.#generation;
    const o = this.#o;
    const tracker = new HostProblemTracker(this.#secrets);
    const state = this.#state;
    const notifier = o.notify ? new Notifier({ config: o.notify, index: o.index, tracker, queue: this.#queue, logger: o.logger, state }) : null;
    const reporter = o.commitStatus ? new CommitStatusReporter({ config: o.commitStatus, index: o.index, tracker, queue: this.#queue, logger: o.logger, state }) : null;
    const feed = source === 'fleet' && o.store ? new FleetProblemFeed({ index: o.index, store: o.store, tracker, logger: o.logger }) : null;
    const sending: Sending = { tracker, notifier, reporter, feed };
    this.#sending = sending;
    // Changes during the reads below are not lost: a status is fed when it arrives, a feed's host is looked at after.
    o.index.observe({
      status: (id, status) => (feed ? feed.localStatus(id, status) : tracker.status(id, status)),
      connected: (id, online) => (feed ? undefined : tracker.connected(id, online)),
      removed: (id) => (feed ? feed.removed(id) : tracker.removed(id)),
    });
    if (!o.store || !state) return;
    try {
      const saved = await state.load();
      if (generation !== this.#generation) return;
      const groups = notifier?.restore(saved) ?? [];
      reporter?.restore(saved);
      const statusAt = new Map<string, string | null>();
      // Statuses only (not facts), a thousand per read: a new leader of 100,000 hosts reads them in 100 queries.
      const ids = o.index.knownReported();
      for (let i = 0; i < ids.length; i += 1000) {
        const chunk = await o.store.statuses(ids.slice(i, i + 1000));
        if (generation !== this.#generation) return;
        for (const h of chunk) {
          statusAt.set(h.id, h.status.updatedAt);
          tracker.status(h.id, h.status);
        }
      }
      // Offline is not in a status: hosts a saved group had as offline are offline again if they still are.
      const offline = new Set(groups.filter((g) => g.kind === 'offline').flatMap((g) => g.members.map(([id]) => id)));
      for (const id of offline) if (o.index.get(id)?.connectivity !== 'Online') tracker.connected(id, false);
      notifier?.settle();
      feed?.baseline(statusAt);
      notifier?.checkHead();
      reporter?.schedule();
      o.logger.info({ source, groups: groups.length, hosts: statusAt.size }, 'sending notifications');
    } catch (error) {
      o.logger.warn({ err: { message: messageOf(error) } }, 'could not read the saved notification state; hosts still failing may be announced again');
    }
  }

  /**
   * Stops sending; deliveries already queued still go out. `lost`: another
   * replica leads now, so the state not written yet is dropped rather than
   * written over what the new leader started from.
   */
  stop(why: 'closing' | 'lost' = 'closing'): void {
    this.#generation++;
    const s = this.#sending;
    if (!s) return;
    this.#sending = null;
    this.#index.observe(null);
    s.feed?.stop();
    // Saved before the groups are torn down: the next sender (a restart, a new leader) starts from them.
    if (why === 'lost') this.#state?.discard();
    else void this.#state?.flush();
    s.notifier?.stop();
    s.reporter?.stop();
  }

  /** The fleet index changed a host (hub/main.ts wires every change here): the cluster leader's feed looks at it. */
  hostChanged(id: string): void {
    this.#sending?.feed?.changed(id);
  }

  /** The fleet's head moved: the commit status and "applied fleet-wide" look again. */
  headChanged(): void {
    this.#sending?.reporter?.schedule();
    this.#sending?.notifier?.checkHead();
  }

  /**
   * A rollout halted (hub/rollout): rules with the `rolloutHalted` event whose
   * tags overlap the rollout's tag send one message to their sinks (from the
   * sending process only: on a cluster the leader, which also runs the rollouts).
   */
  rolloutHalted(e: RolloutHalted): void {
    const s = this.#sending;
    if (!s) return;
    // A host named without a message gets the one its problem carries (failed, rolled back or refused on the revision).
    const hosts = (e.hosts ?? []).map((h) => {
      const p = s.tracker.problems(h.id);
      return { id: h.id, message: h.message ?? p.failed?.message ?? p.rolledBack?.message ?? p.refused?.message ?? '' };
    });
    s.notifier?.rolloutHalted({ ...e, hosts });
  }

  view(): NotificationsView {
    const stats = this.#queue.stats();
    const forge = this.#o.commitStatus;
    const none = { delivered: 0, retried: 0, failed: 0, dropped: 0, queued: 0, lastDeliveredAt: null, lastError: null, lastErrorAt: null };
    return {
      enabled: this.#o.notify !== undefined || forge !== undefined,
      sending: this.#sending !== null,
      queued: this.#queue.length,
      sinks: [...this.#sinkTypes].map(([name, type]) => ({ name, type, ...(stats[sinkLane(name)] ?? none) })),
      commitStatus: forge ? { ...(this.#sending?.reporter?.view() ?? { forge: forge.forge, revision: null, state: null, description: null }), ...(stats[FORGE_LANE] ?? none) } : null,
    };
  }

  /** Before the gateway closes its sessions (that would read as every host going offline); the queue stops too. */
  async close(): Promise<void> {
    this.stop();
    this.#queue.stop();
    await this.#state?.flush();
  }
}
