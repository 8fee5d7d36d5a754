// The hub's in-memory index of every host it knows (enrolled, connected or
// declared in the repo): small per-host summaries, so the fleet summary, the
// tag tree and a filtered hosts page are computed without touching the store.
// Full statuses, facts and history stay in the store.
import type { HostStatus } from '../../shared/status.ts';
import { boundTags } from '../../shared/protocol.ts';
import type { HostRecord } from '../store/fleet-store.ts';
import type { DeclaredHost, FleetHead } from '../git/fleet-repo-view.ts';
import { buildTagTree, connectivityStates, hostSyncSeverity, hostSyncStates, inTag, withAncestors } from './rollup.ts';
import type { Connectivity, HostSync, TagNode } from './rollup.ts';
import { digestStatus } from './host-digest.ts';
import type { HostDigest } from './host-digest.ts';

export interface HostSummary {
  id: string;
  place: string;
  /** Path tags (with ancestors) then cross-cutting tags: from the repo when declared there, else as reported. */
  tags: string[];
  connectivity: Connectivity;
  sync: HostSync;
  ready: boolean | null;
  reconciling: boolean;
  stalled: boolean;
  lastAppliedRevision: string | null;
  lastAttemptedRevision: string | null;
  /** Applied revision is not the repo head (null when either is unknown). */
  behind: boolean | null;
  /** Has a host directory in the repo, or a `place` that exists there. */
  declared: boolean;
  enrolled: boolean;
  agentVersion: string | null;
  lastSeenAt: string | null;
  statusUpdatedAt: string | null;
  resources: { total: number; notInSync: number };
}

interface Reported {
  place: string;
  tags: string[];
  agentVersion: string | null;
  lastSeenAt: string | null;
  enrolled: boolean;
  status: Pick<HostStatus, 'conditions' | 'lastAppliedRevision' | 'lastAttemptedRevision' | 'updatedAt'> | null;
  sync: HostSync;
  resources: { total: number; notInSync: number };
}

/** `state` filter values: a sync state, a connectivity, or one of these. */
export const extraStates = ['Behind', 'Undeclared', 'Reconciling'] as const;
export type StateFilter = HostSync | Connectivity | (typeof extraStates)[number];
export const stateFilters: readonly string[] = [...hostSyncStates, ...connectivityStates, ...extraStates];

export const sortKeys = ['id', 'sync', 'connectivity', 'place', 'lastSeenAt', 'lastAppliedRevision', 'statusUpdatedAt', 'drift'] as const;
export type SortKey = (typeof sortKeys)[number];

export interface HostQuery {
  tag?: string | undefined;
  state?: StateFilter[] | undefined;
  q?: string | undefined;
  sort?: SortKey | undefined;
  order?: 'asc' | 'desc' | undefined;
  offset?: number | undefined;
  limit?: number | undefined;
}

export interface FleetSummary {
  total: number;
  head: { revision: string; committedAt?: string | undefined; subject?: string | undefined; issues: string[] } | null;
  sync: Record<HostSync, number>;
  connectivity: Record<Connectivity, number>;
  behind: number;
  undeclared: number;
  /** Hosts whose Reconciling condition is true. */
  reconciling: number;
  tags: Array<{ tag: string; total: number; worst: HostSync | null }>;
}

/** What a replica reads back from the shared database about a host another replica changed. */
export interface IndexRecord {
  id: string;
  place: string;
  tags: string[];
  agentVersion: string | null;
  lastSeenAt: string | null;
  enrolled: boolean;
  digest: HostDigest | null;
  /** The replica holding the host's agent session, if any. */
  sessionReplica: string | null;
}

/** Told of every status and connection change of this replica's own agent sessions, and of deletions (notifications, hub/notify). */
export interface ReportObserver {
  status(id: string, status: HostStatus): void;
  connected(id: string, online: boolean): void;
  removed(id: string): void;
}

export class FleetIndex {
  #observer: ReportObserver | null = null;
  readonly #reported = new Map<string, Reported>();
  readonly #online = new Set<string>();
  /** Clustered: which other replica holds each host's session, and which replicas are alive. */
  readonly #remoteSessions = new Map<string, string>();
  #liveReplicas = new Set<string>();
  #self: string | null = null;
  #head: FleetHead | null = null;
  #declared = new Map<string, DeclaredHost>();
  #treeDirs = new Set<string>();
  /** Summaries are rebuilt only for hosts that changed since they were last asked for. */
  readonly #cache = new Map<string, HostSummary>();
  readonly #notify: (id: string) => void;
  readonly #summaryMaxAgeMs: number;
  #version = 0;
  /** The roll-ups (tag tree and fleet summary), computed together and cached until something changes. */
  #rollup: { tree: TagNode[]; summary: FleetSummary; version: number; at: number } | null = null;

  /**
   * `summaryMaxAgeMs`: while statuses stream in, the roll-ups are reused for
   * up to this long (they cost a pass over every host's tags); unchanged,
   * they are reused for ever. So however fast hosts report, the hub computes
   * them at most 1000/summaryMaxAgeMs times a second.
   */
  constructor(onChange: (id: string) => void = () => {}, options: { summaryMaxAgeMs?: number } = {}) {
    this.#notify = onChange;
    this.#summaryMaxAgeMs = options.summaryMaxAgeMs ?? 250;
  }

  observe(observer: ReportObserver | null): void {
    this.#observer = observer;
  }

  private changed(id: string): void {
    this.#cache.delete(id);
    this.#version++;
    this.#notify(id);
  }

  load(records: HostRecord[]): void {
    this.#cache.clear();
    for (const r of records) {
      this.#reported.set(r.id, {
        place: r.place,
        // A hello stored by an older hub may carry more tags than today's bounds allow.
        tags: boundTags(r.tags),
        agentVersion: r.agentVersion,
        lastSeenAt: r.lastSeenAt,
        enrolled: r.credentialHash !== null,
        ...(r.status ? digestStatus(r.status) : { status: null, sync: 'Unknown' as const, resources: { total: 0, notInSync: 0 } }),
      });
    }
  }

  private entry(id: string): Reported {
    let e = this.#reported.get(id);
    if (!e) {
      e = { place: '', tags: [], agentVersion: null, lastSeenAt: null, enrolled: false, status: null, sync: 'Unknown', resources: { total: 0, notInSync: 0 } };
      this.#reported.set(id, e);
    }
    return e;
  }

  /** Clustered: this replica's id (its own sessions are the local ones, whatever the database says). */
  setReplica(id: string): void {
    this.#self = id;
  }

  /** Replaces what is known about a host with what the shared database holds (another replica wrote it). */
  applyRecord(r: IndexRecord): void {
    this.#reported.set(r.id, {
      place: r.place,
      tags: boundTags(r.tags),
      agentVersion: r.agentVersion,
      lastSeenAt: r.lastSeenAt,
      enrolled: r.enrolled,
      ...(r.digest ?? { status: null, sync: 'Unknown' as const, resources: { total: 0, notInSync: 0 } }),
    });
    if (r.sessionReplica !== null && r.sessionReplica !== this.#self) this.#remoteSessions.set(r.id, r.sessionReplica);
    else this.#remoteSessions.delete(r.id);
    this.changed(r.id);
  }

  /** The replicas whose heartbeat is current: a session held by any other one does not make a host Online. */
  setLiveReplicas(ids: Iterable<string>): void {
    const next = new Set(ids);
    const before = this.#liveReplicas;
    this.#liveReplicas = next;
    for (const [host, replica] of this.#remoteSessions) if (before.has(replica) !== next.has(replica)) this.changed(host);
  }

  /** The other replica holding the host's session (and alive), or null. */
  remoteSession(id: string): string | null {
    if (this.#online.has(id)) return null;
    const replica = this.#remoteSessions.get(id);
    return replica !== undefined && this.#liveReplicas.has(replica) ? replica : null;
  }

  private isOnline(id: string): boolean {
    return this.#online.has(id) || this.remoteSession(id) !== null;
  }

  enrolled(id: string): void {
    this.entry(id).enrolled = true;
    this.changed(id);
  }

  credentialReset(id: string): void {
    this.entry(id).enrolled = false;
    this.changed(id);
  }

  /** Forgets what the host reported (it was deleted); a host still declared in the repo stays, never seen. */
  remove(id: string): void {
    this.#reported.delete(id);
    this.#online.delete(id);
    this.#remoteSessions.delete(id);
    this.changed(id);
    this.#observer?.removed(id);
  }

  hello(id: string, h: { place: string; tags: string[]; agentVersion: string; seenAt: string }): void {
    Object.assign(this.entry(id), { place: h.place, tags: h.tags, agentVersion: h.agentVersion, lastSeenAt: h.seenAt });
    this.changed(id);
  }

  seen(id: string, at: string): void {
    this.entry(id).lastSeenAt = at;
    this.#cache.delete(id);
  }

  status(id: string, status: HostStatus): void {
    Object.assign(this.entry(id), digestStatus(status));
    this.changed(id);
    this.#observer?.status(id, status);
  }

  connected(id: string, online: boolean): void {
    if (this.#online.has(id) === online) return;
    if (online) this.#online.add(id);
    else this.#online.delete(id);
    this.changed(id);
    this.#observer?.connected(id, online);
  }

  get head(): FleetHead | null {
    return this.#head;
  }

  setHead(head: FleetHead): void {
    this.#cache.clear();
    this.#version++;
    this.#head = head;
    this.#declared = new Map(head.hosts.map((h) => [h.id, h]));
    this.#treeDirs = new Set(head.tags.flatMap(withAncestors));
    for (const h of head.hosts) this.#treeDirs.add(h.dir);
  }

  /** Ids of the hosts the hub has a record of (not those only declared in the repo). */
  knownReported(): string[] {
    return [...this.#reported.keys()];
  }

  /** Every id: reporting or enrolled hosts and hosts declared in the repo. */
  ids(): string[] {
    const ids = new Set(this.#reported.keys());
    for (const id of this.#declared.keys()) ids.add(id);
    return [...ids];
  }

  get(id: string): HostSummary | null {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const built = this.build(id);
    if (built) this.#cache.set(id, built);
    return built;
  }

  private build(id: string): HostSummary | null {
    const r = this.#reported.get(id);
    const d = this.#declared.get(id);
    if (!r && !d) return null;
    const place = r?.place || d?.dir || '';
    const tags = d ? [...new Set([...d.pathTags.flatMap(withAncestors), ...d.crossTags])] : [...new Set(r!.tags.flatMap((t) => (t.includes('/') ? withAncestors(t) : [t])))];
    const applied = r?.status?.lastAppliedRevision ?? null;
    const conditions = r?.status?.conditions ?? [];
    const cond = (type: string) => conditions.find((c) => c.type === type)?.status;
    return {
      id,
      place,
      tags,
      connectivity: this.isOnline(id) ? 'Online' : r?.lastSeenAt ? 'Offline' : 'NeverSeen',
      sync: r?.sync ?? 'Unknown',
      ready: cond('Ready') ?? null,
      reconciling: cond('Reconciling') ?? false,
      stalled: cond('Stalled') ?? false,
      lastAppliedRevision: applied,
      lastAttemptedRevision: r?.status?.lastAttemptedRevision ?? null,
      behind: this.#head && applied ? applied !== this.#head.revision : null,
      declared: d !== undefined || (this.#head === null ? true : r!.place !== '' && this.#treeDirs.has(r!.place)),
      enrolled: r?.enrolled ?? false,
      agentVersion: r?.agentVersion ?? null,
      lastSeenAt: r?.lastSeenAt ?? null,
      statusUpdatedAt: r?.status?.updatedAt ?? null,
      resources: r?.resources ?? { total: 0, notInSync: 0 },
    };
  }

  all(): HostSummary[] {
    return this.ids().map((id) => this.get(id)!);
  }

  summary(): FleetSummary {
    return this.rollup().summary;
  }

  private rollup(): { tree: TagNode[]; summary: FleetSummary } {
    const cached = this.#rollup;
    if (cached && (cached.version === this.#version || Date.now() - cached.at < this.#summaryMaxAgeMs)) return cached;
    const version = this.#version;
    const hosts = this.all();
    const tree = buildTagTree(hosts, this.#head?.tags ?? []);
    const fresh = { tree, summary: this.computeSummary(hosts, tree), version, at: Date.now() };
    this.#rollup = fresh;
    return fresh;
  }

  private computeSummary(hosts: HostSummary[], tree: TagNode[]): FleetSummary {
    const sync = Object.fromEntries(hostSyncStates.map((s) => [s, 0])) as Record<HostSync, number>;
    const connectivity = Object.fromEntries(connectivityStates.map((s) => [s, 0])) as Record<Connectivity, number>;
    let behind = 0;
    let undeclared = 0;
    let reconciling = 0;
    for (const h of hosts) {
      sync[h.sync]++;
      connectivity[h.connectivity]++;
      if (h.behind) behind++;
      if (!h.declared) undeclared++;
      if (h.reconciling) reconciling++;
    }
    const flat: FleetSummary['tags'] = [];
    const walk = (nodes: TagNode[]) => {
      for (const n of nodes) {
        flat.push({ tag: n.tag, total: n.total, worst: n.worst });
        walk(n.children);
      }
    };
    walk(tree);
    const head = this.#head;
    return {
      total: hosts.length,
      head: head ? { revision: head.revision, committedAt: head.committedAt, subject: head.subject, issues: head.issues } : null,
      sync,
      connectivity,
      behind,
      undeclared,
      reconciling,
      tags: flat,
    };
  }

  /** The tag tree (cached with the summary; treat it as read-only). */
  tagTree(): TagNode[] {
    return this.rollup().tree;
  }

  /** Ids of the hosts in a tag's subtree (every host for the empty tag). */
  idsInTag(tag: string): string[] {
    return this.all()
      .filter((h) => tag === '' || inTag(h.tags, tag))
      .map((h) => h.id);
  }

  query(query: HostQuery): { total: number; offset: number; limit: number; hosts: HostSummary[] } {
    const needle = query.q?.toLowerCase();
    const states = query.state && query.state.length > 0 ? new Set<string>(query.state) : null;
    const matches = this.all().filter((h) => {
      if (query.tag && !inTag(h.tags, query.tag)) return false;
      if (states) {
        const hostStates = [h.sync, h.connectivity, ...(h.behind ? ['Behind'] : []), ...(h.declared ? [] : ['Undeclared']), ...(h.reconciling ? ['Reconciling'] : [])];
        if (!hostStates.some((s) => states.has(s))) return false;
      }
      if (needle) {
        const hay = [h.id, h.place, h.agentVersion ?? '', h.lastAppliedRevision ?? '', ...h.tags].join('\n').toLowerCase();
        if (!hay.includes(needle)) return false;
      }
      return true;
    });
    const key = query.sort ?? 'id';
    const dir = query.order === 'desc' ? -1 : 1;
    const connectivityRank: Record<Connectivity, number> = { Offline: 2, NeverSeen: 1, Online: 0 };
    const value = (h: HostSummary): string | number =>
      key === 'sync'
        ? -hostSyncSeverity[h.sync]
        : key === 'connectivity'
          ? -connectivityRank[h.connectivity]
          : key === 'drift'
            ? h.resources.notInSync
            : (h[key] ?? '');
    matches.sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      const c = va < vb ? -1 : va > vb ? 1 : a.id.localeCompare(b.id);
      return c * dir;
    });
    const offset = Math.max(0, query.offset ?? 0);
    const limit = Math.min(500, Math.max(1, query.limit ?? 50));
    return { total: matches.length, offset, limit, hosts: matches.slice(offset, offset + limit) };
  }
}
