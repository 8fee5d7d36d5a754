// The hub's rollout coordinator (docs/rollouts.md). For each new head it
// creates a rollout per rollout.yaml scope with affected hosts (superseding
// the unfinished one of that scope), then on every tick advances the running
// ones and tells each agent the newest revision it may apply, sending a
// `release` only when it changed. Every change is stored before it is sent,
// and the records hold absolute times, so a restarted hub resumes where it was.
// Head changes, ticks and admin actions run one at a time.
//
// On a cluster (docs/rollouts.md, On a cluster) every replica has one, but
// only the leader's leads: it creates, advances and acts. The others follow:
// they reload the rollouts from the database when the leader says they
// changed, take a new head only once the leader has planned its rollouts,
// release to their own agents from what they loaded, and hand admin actions
// to the leader.
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { Release } from '../../shared/protocol.ts';
import { budgetCount } from '../../repo/rollout/rollout-schema.ts';
import { scopeOf, withinScope } from '../../repo/rollout/rollout-files.ts';
import type { RolloutScope } from '../../repo/rollout/rollout-files.ts';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import type { DeclaredHost, FleetHead } from '../git/fleet-repo-view.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import { affectedSince } from './affected-by-rollout.ts';
import type { HostProgress } from './host-progress.ts';
import { progressOf } from './host-progress.ts';
import type { AdminAction } from './rollout-engine.ts';
import { advance, applyAdminAction } from './rollout-engine.ts';
import type { RolloutRecord } from './rollout-record.ts';
import { hostsOf, isActive, record, rolloutId } from './rollout-record.ts';
import { releasedIn } from './releases.ts';
import { rolloutHold } from './host-hold.ts';
import type { PolicyHold, RolloutHold } from './host-hold.ts';
import { planWaves } from './wave-plan.ts';

export interface CoordinatorOptions {
  store: Pick<FleetStore, 'saveRollout' | 'listRollouts'>;
  index: Pick<FleetIndex, 'get' | 'ids'>;
  /** Sends to the host's agent when it is connected and speaks the release message; false otherwise. */
  send: (host: string, release: Release) => boolean;
  changedPaths: (from: string, to: string) => Promise<string[] | null>;
  logger: Logger;
  now?: () => Date;
  /** How often running rollouts are advanced (default 1 s). */
  tickMs?: number;
  /** Told when a rollout halts on its own (over its failure budget): notifications (hub/notify). */
  onHalted?: (r: RolloutRecord) => void;
  /** False on a cluster replica until it gains the leader lock (lead()); default true. */
  leading?: boolean;
  /** Told (on the leader) after it stored a change, or planned the rollouts of head `revision`. */
  onChanged?: (revision: string | null) => void;
  /** A follower's admin action, handed to the leader; null when no leader answered in time. */
  forward?: (id: string, action: AdminAction, by: string) => Promise<{ ok: true } | { ok: false; status: 404 | 409; why: string } | null>;
}

export type ActResult = { ok: true; rollout: RolloutView } | { ok: false; status: 404 | 409 | 503; why: string };

/** Rollouts kept in memory and listed: the active ones and the newest finished ones. */
const KEPT = 100;

export interface WaveView {
  name: string;
  hosts: number;
  openedAt: string | null;
  closedAt: string | null;
  progress: Record<HostProgress, number>;
}

export interface RolloutView extends Omit<RolloutRecord, 'waves' | 'baseline'> {
  waves: WaveView[];
  hostCount: number;
}

export interface RolloutHostView {
  id: string;
  wave: string;
  progress: HostProgress;
  counted: 'failed' | null;
  baseline: string | null;
}

export class RolloutCoordinator {
  readonly #o: CoordinatorOptions;
  readonly #log: Logger;
  /** Newest first. */
  #rollouts: RolloutRecord[] = [];
  /** host → the newest active rollout that holds it. */
  #holder = new Map<string, RolloutRecord>();
  #head: FleetHead | null = null;
  /** The newest head this replica's tracker has; a follower takes it once the leader has planned it. */
  #latest: FleetHead | null = null;
  /** The head whose rollouts the leader last said it planned (followers). */
  #confirmed: string | null = null;
  #leading: boolean;
  #dirs = new Map<string, DeclaredHost>();
  /** The release last sent to each connected agent, as JSON. */
  readonly #sent = new Map<string, string>();
  #chain: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(o: CoordinatorOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'rollouts' });
    this.#leading = o.leading ?? true;
  }

  /** True where this coordinator creates and advances rollouts (a single hub, or the cluster's leader). */
  get leading(): boolean {
    return this.#leading;
  }

  #now(): Date {
    return (this.#o.now ?? (() => new Date()))();
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(work, work);
    this.#chain = result.catch((error: unknown) => this.#log.error({ err: messageOf(error) }, 'rollout step failed'));
    return result;
  }

  /** Loads the stored rollouts (a restart resumes them) and, when leading, starts ticking. */
  async start(): Promise<void> {
    this.#rollouts = await this.#o.store.listRollouts(KEPT);
    this.#reindex();
    if (!this.#leading) return;
    const active = this.#rollouts.filter((r) => isActive(r.state));
    if (active.length > 0) this.#log.info({ rollouts: active.map((r) => `${r.id} ${r.state}`) }, 'resuming rollouts');
    this.#ticking();
  }

  #ticking(): void {
    if (this.#timer) clearTimeout(this.#timer);
    const tick = () => {
      if (this.#stopped || !this.#leading) return;
      void this.tick().finally(() => {
        if (this.#stopped || !this.#leading) return;
        this.#timer = setTimeout(tick, this.#o.tickMs ?? 1000);
        this.#timer.unref();
      });
    };
    this.#timer = setTimeout(tick, this.#o.tickMs ?? 1000);
    this.#timer.unref();
  }

  /**
   * This replica gained the leader lock: resume from the database as a restarted
   * hub does (a wave already opened stays open, its times are absolute), plan
   * the newest head if the old leader had not, say so, and start ticking.
   */
  lead(): Promise<void> {
    return this.#serial(async () => {
      if (this.#leading || this.#stopped) return;
      this.#leading = true;
      this.#rollouts = await this.#o.store.listRollouts(KEPT);
      this.#reindex();
      const active = this.#rollouts.filter((r) => isActive(r.state));
      this.#log.info({ rollouts: active.map((r) => `${r.id} ${r.state}`) }, 'this replica leads the rollouts; resuming them from the database');
      const head = this.#latest ?? this.#head;
      if (head) await this.#plan(head);
      else this.#o.onChanged?.(null);
      this.#ticking();
    });
  }

  /** This replica lost the leader lock: it stops advancing and follows the new leader's notices. */
  follow(): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#confirmed = this.#head?.revision ?? null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /**
   * A follower hears that the leader changed its rollouts (and planned head
   * `revision`, when given): reload them, take that head if this replica has
   * it, and release to this replica's agents.
   */
  sync(revision?: string | null): Promise<void> {
    return this.#serial(async () => {
      if (this.#leading || this.#stopped) return;
      this.#rollouts = await this.#o.store.listRollouts(KEPT);
      if (revision) this.#confirmed = revision;
      this.#takeConfirmed();
      this.#reindex();
      this.#broadcast(this.#o.index.ids());
    });
  }

  #takeConfirmed(): void {
    const latest = this.#latest;
    if (!latest || latest.revision !== this.#confirmed || this.#head?.revision === latest.revision) return;
    this.#head = latest;
    this.#dirs = new Map(latest.hosts.map((h) => [h.id, h]));
  }

  /** The head whose rollouts this coordinator decides by (null before the first). */
  get revision(): string | null {
    return this.#head?.revision ?? null;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#chain.catch(() => undefined);
  }

  #reindex(): void {
    this.#holder.clear();
    // Oldest first, so the newest active rollout of a host wins.
    for (const r of [...this.#rollouts].reverse()) if (isActive(r.state)) for (const h of hostsOf(r)) this.#holder.set(h, r);
  }

  /** A new head: create its rollouts, then tell every agent what it may run. */
  setHead(head: FleetHead): Promise<void> {
    return this.#serial(async () => {
      this.#latest = head;
      if (!this.#leading) {
        // A follower must not release a head the leader has not planned yet: its hosts would skip their waves.
        const before = this.#head?.revision;
        this.#takeConfirmed();
        if (this.#head?.revision !== before) this.#broadcast(this.#o.index.ids());
        return;
      }
      if (this.#head?.revision === head.revision) return;
      await this.#plan(head);
    });
  }

  /** Creates the head's rollouts that do not exist yet (none twice: ids are per revision and scope), releases, and says so. */
  async #plan(head: FleetHead): Promise<void> {
    {
      const scopes = head.rollouts?.scopes ?? [];
      const created: RolloutRecord[] = [];
      for (const scope of scopes) {
        const r = await this.#createFor(head, scope, scopes);
        if (r) created.push(r);
      }
      this.#head = head;
      this.#dirs = new Map(head.hosts.map((h) => [h.id, h]));
      this.#reindex();
      const now = this.#now();
      for (const r of created) {
        advance(r, (h) => this.#progress(r, h), now);
        await this.#o.store.saveRollout(r);
      }
      this.#broadcast(this.#o.index.ids());
      this.#o.onChanged?.(head.revision);
    }
  }

  async #createFor(head: FleetHead, scope: RolloutScope, scopes: readonly RolloutScope[]): Promise<RolloutRecord | null> {
    const id = rolloutId(head.revision, scope.dir);
    if (this.#rollouts.some((r) => r.id === id)) return null;
    const inScope = head.hosts.filter((h) => scopeOf(h.dir, scopes) === scope);
    const affected = await affectedSince(inScope, head.revision, (h) => this.#o.index.get(h)?.lastAppliedRevision ?? null, this.#o.changedPaths);
    if (affected.length === 0) return null;
    const at = this.#now().toISOString();
    // What each host may run until its wave opens: what the rollouts so far released to it.
    const baseline: Record<string, string | null> = {};
    for (const h of affected) baseline[h] = this.releaseFor(h)?.revision ?? this.#o.index.get(h)?.lastAppliedRevision ?? null;
    for (const old of this.#rollouts) {
      if (old.scope !== scope.dir || !isActive(old.state)) continue;
      old.state = 'superseded';
      old.soakUntil = null;
      record(old, 'superseded', 'hub', at, `by ${id}: its hosts follow the newer rollout`);
      await this.#o.store.saveRollout(old);
    }
    const byId = new Map(inScope.map((h) => [h.id, h]));
    const waves = planWaves(scope.policy, affected.map((h) => ({ id: h, tags: [...(byId.get(h)?.pathTags ?? []), ...(byId.get(h)?.crossTags ?? [])] })), head.revision);
    const r: RolloutRecord = {
      id,
      revision: head.revision,
      subject: head.subject ?? null,
      scope: scope.dir,
      policy: scope.policy,
      state: 'running',
      createdAt: at,
      updatedAt: at,
      waves: waves.map((w) => ({ ...w, openedAt: null, closedAt: null })),
      current: 0,
      soakUntil: null,
      baseline,
      failed: [],
      budget: budgetCount(scope.policy.failureBudget, affected.length),
      haltReason: null,
      history: [],
    };
    record(r, 'created', 'hub', at, `${affected.length} affected host(s) in ${waves.length} wave(s) from ${scope.file}`);
    this.#log.info({ rollout: id, hosts: affected.length, waves: waves.map((w) => w.hosts.length) }, 'rollout created');
    this.#rollouts.unshift(r);
    this.#trim();
    return r;
  }

  #trim(): void {
    let finished = 0;
    this.#rollouts = this.#rollouts.filter((r) => isActive(r.state) || ++finished <= KEPT);
  }

  #progress(r: RolloutRecord, host: string): HostProgress {
    return progressOf(this.#o.index.get(host), r.revision);
  }

  /** One step for every running rollout. */
  tick(): Promise<void> {
    return this.#serial(async () => {
      if (!this.#leading) return;
      const now = this.#now();
      let changed = false;
      for (const r of this.#rollouts) {
        if (r.state !== 'running') continue;
        const state = r.state as string;
        if (!advance(r, (h) => this.#progress(r, h), now)) continue;
        await this.#o.store.saveRollout(r);
        changed = true;
        if (r.state !== state) this.#log.info({ rollout: r.id, state: r.state, reason: r.haltReason }, `rollout ${r.state}`);
        if (r.state !== state && (r.state as string) === 'halted') this.#o.onHalted?.(r);
        if (!isActive(r.state)) this.#reindex();
        this.#broadcast(hostsOf(r));
      }
      if (changed) this.#o.onChanged?.(this.#head?.revision ?? null);
    });
  }

  /** An admin's pause, resume, promote or abort; recorded with `by`. A follower hands it to the leader. */
  async act(id: string, action: AdminAction, by: string): Promise<ActResult> {
    if (!this.#leading && this.#o.forward) {
      const answer = await this.#o.forward(id, action, by);
      if (!answer) return { ok: false, status: 503, why: 'no replica leads the rollouts right now (or the leader did not answer in time); try again' };
      if (!answer.ok) return answer;
      await this.sync();
      const r = this.#rollouts.find((x) => x.id === id);
      return r ? { ok: true, rollout: this.#view(r) } : { ok: false, status: 404, why: `no rollout ${id}` };
    }
    return this.#serial(async () => {
      const r = this.#rollouts.find((x) => x.id === id);
      if (!r) return { ok: false as const, status: 404 as const, why: `no rollout ${id}` };
      const now = this.#now();
      const done = applyAdminAction(r, action, by, now);
      if (!done.ok) return { ok: false as const, status: 409 as const, why: done.why };
      advance(r, (h) => this.#progress(r, h), now);
      await this.#o.store.saveRollout(r);
      this.#log.warn({ rollout: id, action, by, state: r.state }, `rollout ${action} by ${by}`);
      this.#reindex();
      this.#broadcast(hostsOf(r));
      this.#o.onChanged?.(this.#head?.revision ?? null);
      return { ok: true as const, rollout: this.#view(r) };
    });
  }

  /** What `host` may run now; null while the hub has no head (nothing is sent then). */
  releaseFor(host: string): Release | null {
    const head = this.#head;
    if (!head) return null;
    const dir = this.#dirs.get(host)?.dir ?? this.#o.index.get(host)?.place ?? null;
    const rollouts = head.rollouts;
    if (dir === null || !rollouts) return { type: 'release', underPolicy: false, revision: null };
    const scope = scopeOf(dir, rollouts.scopes);
    const broken = rollouts.invalid.filter((d) => withinScope(dir, d)).sort((a, b) => b.length - a.length)[0];
    if (broken !== undefined && (scope === null || broken.length > scope.dir.length)) {
      // An invalid rollout.yaml must not let a commit through at once: hold the host where it is.
      const applied = this.#o.index.get(host)?.lastAppliedRevision ?? null;
      return { type: 'release', underPolicy: true, revision: applied !== null && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(applied) ? applied : null, rollout: `invalid ${broken === '' ? '' : broken + '/'}rollout.yaml` };
    }
    if (!scope) return { type: 'release', underPolicy: false, revision: null };
    const r = this.#holder.get(host);
    if (!r) return { type: 'release', underPolicy: true, revision: head.revision };
    return { type: 'release', underPolicy: true, revision: releasedIn(r, host), rollout: r.id };
  }

  /** An agent said hello: it gets its release whatever was sent before. */
  welcomed(host: string): void {
    this.#sent.delete(host);
    this.#broadcast([host]);
  }

  #broadcast(hosts: Iterable<string>): void {
    for (const host of hosts) {
      const release = this.releaseFor(host);
      if (!release) continue;
      const key = JSON.stringify(release);
      if (this.#sent.get(host) === key) continue;
      if (this.#o.send(host, release)) this.#sent.set(host, key);
      else this.#sent.delete(host);
    }
  }

  #view(r: RolloutRecord): RolloutView {
    const { waves, baseline: _baseline, ...rest } = r;
    const failed = new Set(r.failed);
    return {
      ...rest,
      hostCount: hostsOf(r).length,
      waves: waves.map((w) => {
        const progress: Record<HostProgress, number> = { pending: 0, applying: 0, done: 0, failed: 0 };
        for (const h of w.hosts) progress[failed.has(h) ? 'failed' : this.#progress(r, h)]++;
        return { name: w.name, hosts: w.hosts.length, openedAt: w.openedAt, closedAt: w.closedAt, progress };
      }),
    };
  }

  list(): RolloutView[] {
    return this.#rollouts.map((r) => this.#view(r));
  }

  /** The active rollout that decides what `host` may run, and where it stands in it; null when none does. */
  holdOf(host: string): RolloutHold | null {
    const r = this.#holder.get(host);
    return r ? rolloutHold(r, host) : null;
  }

  /** The invalid rollout.yaml that holds `host` where it is; null when none does. */
  invalidPolicyOf(host: string): PolicyHold | null {
    const release = this.releaseFor(host);
    // releaseFor names such a hold "invalid <file>"; rollout ids are hex (and a scope), never that.
    const prefix = 'invalid ';
    if (!release?.rollout?.startsWith(prefix)) return null;
    return { file: release.rollout.slice(prefix.length), released: release.revision };
  }

  get(id: string): { rollout: RolloutView; hosts: RolloutHostView[] } | null {
    const r = this.#rollouts.find((x) => x.id === id);
    if (!r) return null;
    const failed = new Set(r.failed);
    const hosts = r.waves.flatMap((w) => w.hosts.map((h) => ({ id: h, wave: w.name, progress: this.#progress(r, h), counted: failed.has(h) ? ('failed' as const) : null, baseline: r.baseline[h] ?? null })));
    return { rollout: this.#view(r), hosts };
  }
}
