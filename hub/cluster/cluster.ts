// A hub replica's part in a cluster of replicas on one PostgreSQL database
// (docs/hub.md, Several replicas): its heartbeat and the live-replica set
// (connectivity across replicas), its agents' sessions recorded in the
// database, the change follower (coherent index, summary, roll-ups and SSE),
// reconcile-now delivered to the replica holding each host's session, the
// repo head shared from whichever replica read it, and the leader lock that
// makes one replica poll the repo and sweep dead replicas' sessions. The
// liveness work and reconcile-now hand-offs use a connection of their own
// (dedicated-connection.ts), never waiting behind the pool's writes.
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import type { FleetHead } from '../git/fleet-repo-view.ts';
import type { HeadTracker } from '../git/head-tracker.ts';
import type { PostgresFleetStore } from '../store/postgres-store.ts';
import { ChangeFollower } from './change-follower.ts';
import { DedicatedConnection } from './dedicated-connection.ts';
import { boundHeapGrowth } from './heap-growth.ts';
import { LeaderLock } from './leader.ts';
import { ACTION_CHANNEL, reconcilePayloads } from './notices.ts';
import type { ClusterAction } from './notices.ts';
import type { RolloutNotice } from './rollout-notices.ts';

/** Every this many beats a replica re-asserts its sessions in the database (a cheap no-op when they are right). */
const REASSERT_EVERY_BEATS = 10;
/**
 * The leader sweeps the sessions of a replica silent for this many windows, not one: a replica silent for a
 * window is already shown dead (its hosts Offline, from the live-replica set), so the sweep only tidies the
 * database and need not hurry; a beat late under load (PostgreSQL or the replica short of CPU) must not cost
 * the replica its sessions, rewritten on every replica's index when it records them again.
 */
const SWEEP_AFTER_WINDOWS = 4;

export interface ClusterOptions {
  store: PostgresFleetStore;
  index: FleetIndex;
  logger: Logger;
  /** The agents' heartbeat: a dead replica's hosts go offline within about this long. */
  heartbeatMs: number;
  /** How this replica is reached (logged in hub_replicas for operators). */
  address: string;
  /** The hosts whose agents are connected to this replica. */
  localSessions: () => string[];
  /** Delivers reconcile-now to this replica's own sessions; returns the hosts reached. */
  reconcileLocal: (hosts: string[], reason: string, origin: 'api' | 'webhook') => string[];
  tracker: HeadTracker | null;
  pollIntervalMs: number;
}

export class Cluster {
  readonly #o: ClusterOptions;
  readonly #log: Logger;
  readonly follower: ChangeFollower;
  readonly leader: LeaderLock;
  readonly beatMs: number;
  readonly windowMs: number;
  /** How long a replica is silent before the leader sweeps its sessions. */
  readonly sweepAfterMs: number;
  readonly #liveness: DedicatedConnection;
  #beat: NodeJS.Timeout | null = null;
  #beating = false;
  /** Beats since this replica last re-asserted its sessions; -1 after a failed beat (re-assert at once). */
  #sinceReassert = 0;
  /** When this replica's last beat succeeded, and since when its beats have come without a gap longer than the window. */
  #lastBeatAt = 0;
  #beatingSince = 0;
  /**
   * Hosts whose session write (claim or release) is not stored yet: the re-assert leaves them to it. While
   * thousands of agents connect, claims wait in the write queue, and re-asserting them too recorded "again"
   * sessions the database had never lost (16 times in the 100,000-agent run, with no sweep at all).
   */
  readonly #sessionWrites = new Map<string, number>();
  #rolloutHandler: ((notice: RolloutNotice) => void) | null = null;

  constructor(o: ClusterOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'cluster' });
    this.beatMs = Math.min(5000, Math.max(250, Math.floor(o.heartbeatMs / 2)));
    this.windowMs = this.beatMs * 3;
    this.sweepAfterMs = this.windowMs * SWEEP_AFTER_WINDOWS;
    // A beat that cannot finish within the window is worthless: the leader counts this replica dead by then.
    this.#liveness = new DedicatedConnection(o.store, 'liveness', this.windowMs);
    this.follower = new ChangeFollower({ store: o.store, index: o.index, logger: o.logger, onAction: (a) => this.onAction(a) });
    this.leader = new LeaderLock({
      store: o.store,
      logger: o.logger,
      retryMs: this.beatMs,
      onGain: () => o.tracker?.start(o.pollIntervalMs),
      onLose: () => o.tracker?.pause(),
    });
  }

  get replica(): string {
    return this.#o.store.replicaId;
  }

  async start(): Promise<void> {
    const growth = boundHeapGrowth();
    this.#log.info({ heapGrowingPercent: growth ?? 'as node was started with' }, 'replica heap growth between full collections bounded');
    this.#o.index.setReplica(this.replica);
    await this.heartbeat();
    await this.follower.start();
    const stored = await this.#o.store.loadHead();
    if (stored) this.adoptHead(stored.body);
    this.#beat = setInterval(() => void this.heartbeat(), this.beatMs);
    this.#beat.unref();
    this.leader.start();
  }

  private async heartbeat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    try {
      const store = this.#o.store;
      const live = await this.#liveness.use((c) => store.replicaHeartbeat(this.#o.address, this.windowMs, c));
      this.#o.index.setLiveReplicas(live);
      const now = performance.now();
      // A gap in this replica's own beats (the database or this process stalled) may have silenced the others too.
      if (this.#lastBeatAt === 0 || now - this.#lastBeatAt > this.windowMs) this.#beatingSince = now;
      this.#lastBeatAt = now;
      // After an outage longer than the window the leader may have swept this replica's sessions: claim them again.
      if (this.#sinceReassert < 0 || ++this.#sinceReassert >= REASSERT_EVERY_BEATS) {
        this.#sinceReassert = 0;
        const sessions = this.#o.localSessions().filter((id) => !this.#sessionWrites.has(id));
        const fixed = await this.#liveness.use((c) => store.reassertSessions(sessions, c));
        if (fixed.length > 0) this.#log.info({ hosts: fixed.length }, 'sessions of this replica recorded again after the database lost them');
      }
      // Only a leader that has itself been beating for the whole sweep delay judges the others silent for it:
      // after an outage every replica beats again within a window, the leader merely first.
      if (this.leader.leader && now - this.#beatingSince >= this.sweepAfterMs) {
        const swept = await this.#liveness.use((c) => store.sweepDeadReplicas(this.sweepAfterMs, c));
        if (swept.length > 0) {
          this.#log.info({ hosts: swept.length }, 'hosts of replicas that stopped beating are offline until they reconnect');
          this.follower.refresh(swept);
        }
      }
    } catch (error) {
      this.#sinceReassert = -1;
      this.#log.warn({ err: { message: messageOf(error) } }, 'replica heartbeat failed (is PostgreSQL down?)');
    } finally {
      this.#beating = false;
    }
  }

  /** The gateway's session hook: the database records which replica holds each host. */
  sessionChanged(host: string, online: boolean): void {
    this.#sessionWrites.set(host, (this.#sessionWrites.get(host) ?? 0) + 1);
    const write = online ? this.#o.store.claimSession(host, this.replica) : this.#o.store.releaseSession(host, this.replica);
    write
      .catch((error: unknown) => this.#log.warn({ host, err: { message: messageOf(error) } }, 'could not record the session in the database'))
      .finally(() => {
        const left = (this.#sessionWrites.get(host) ?? 1) - 1;
        if (left > 0) this.#sessionWrites.set(host, left);
        else this.#sessionWrites.delete(host);
      });
  }

  /**
   * reconcile-now for hosts not connected here: sent to the replica holding each; returns the hosts handed on.
   * Every replica's requests go out in one statement on the liveness connection (a webhook for the whole
   * fleet is a few hundred notices: one round trip, not one pool query each behind the status writes).
   */
  reconcileRemote(hosts: readonly string[], reason: string, origin: 'api' | 'webhook'): string[] {
    const byReplica = new Map<string, string[]>();
    for (const id of hosts) {
      const replica = this.#o.index.remoteSession(id);
      if (replica === null) continue;
      let list = byReplica.get(replica);
      if (!list) byReplica.set(replica, (list = []));
      list.push(id);
    }
    const reached: string[] = [];
    const payloads: string[] = [];
    for (const [replica, ids] of byReplica) {
      reached.push(...ids);
      payloads.push(...reconcilePayloads(replica, ids, reason.slice(0, 1000), origin));
    }
    const store = this.#o.store;
    this.#liveness
      .use((c) => store.publish(ACTION_CHANNEL, payloads, c))
      .catch((error: unknown) => this.#log.warn({ replicas: [...byReplica.keys()], err: { message: messageOf(error) } }, 'could not hand reconcile-now to the other replicas'));
    return reached;
  }

  /** This replica read a new head: the others take it from the database instead of reading the repo. */
  shareHead(head: FleetHead): void {
    void (async () => {
      await this.#o.store.saveHead(head.revision, JSON.stringify(head));
      await this.#o.store.publish(ACTION_CHANNEL, [JSON.stringify({ k: 'head', from: this.replica, revision: head.revision })]);
    })().catch((error: unknown) => this.#log.warn({ err: { message: messageOf(error) } }, 'could not share the repo head'));
  }

  /**
   * The rollout leader planned head `revision` and this replica does not have it (its head notice was lost
   * while its feed connection was down): take the stored head.
   */
  catchUpHead(revision: string): void {
    if (this.#o.tracker?.head?.revision === revision) return;
    this.#o.store.loadHead().then(
      (stored) => stored?.revision === revision && this.adoptHead(stored.body),
      (error: unknown) => this.#log.warn({ err: { message: messageOf(error) } }, 'could not read the shared repo head'),
    );
  }

  private adoptHead(body: string): void {
    try {
      this.#o.tracker?.adopt(JSON.parse(body) as FleetHead);
    } catch (error) {
      this.#log.warn({ err: { message: messageOf(error) } }, 'the stored repo head is unreadable; keeping this replica\'s');
    }
  }

  /** Where rollout notices go on this replica (hub/cluster/rollout-link.ts). */
  onRolloutNotice(handler: (notice: RolloutNotice) => void): void {
    this.#rolloutHandler = handler;
  }

  /** Sends one notice to every replica (this one included), on the liveness connection. */
  publishAction(payload: string): Promise<void> {
    const store = this.#o.store;
    return this.#liveness.use((c) => store.publish(ACTION_CHANNEL, [payload], c));
  }

  private onAction(action: ClusterAction): void {
    if (action.k === 'reconcile') {
      if (action.to === this.replica) this.#o.reconcileLocal(action.ids, action.reason, action.origin);
      return;
    }
    if (action.k !== 'head') {
      this.#rolloutHandler?.(action);
      return;
    }
    if (action.from === this.replica || action.revision === this.#o.tracker?.head?.revision) return;
    this.#o.store.loadHead().then(
      (stored) => stored && this.adoptHead(stored.body),
      (error: unknown) => this.#log.warn({ err: { message: messageOf(error) } }, 'could not read the shared repo head'),
    );
  }

  /** Leaves the cluster: sessions released, heartbeat row removed, lock and feed connections closed. */
  async stop(): Promise<void> {
    if (this.#beat) clearInterval(this.#beat);
    await this.leader.stop();
    await this.follower.stop();
    await this.#liveness.close();
    await this.#o.store.leaveCluster().catch((error: unknown) => this.#log.warn({ err: { message: messageOf(error) } }, 'could not leave the cluster cleanly'));
  }
}
