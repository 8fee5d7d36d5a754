// Pure roll-up rules (PRODUCT.md §7): a host's sync state is its worst
// resource's, a tag's is its worst member's, and a tag's members are the
// hosts of its whole subtree.
import { syncSeverity } from '../../shared/status.ts';
import type { HostStatus, SyncState } from '../../shared/status.ts';

/** Sync state as the hub shows it: `Unknown` until a host has reported. */
export type HostSync = SyncState | 'Unknown';
export const hostSyncStates: HostSync[] = ['Failed', 'Drifted', 'Missing', 'Pending', 'Unknown', 'InSync', 'Ignored'];

export type Connectivity = 'Online' | 'Offline' | 'NeverSeen';
export const connectivityStates: Connectivity[] = ['Online', 'Offline', 'NeverSeen'];

/** Worst first. Unknown (never reported) ranks above InSync: not knowing is worse than knowing it is fine. */
export const hostSyncSeverity: Record<HostSync, number> = { ...syncSeverity, Unknown: 1.5 };

export function worstSync(states: Iterable<HostSync>): HostSync | null {
  let worst: HostSync | null = null;
  for (const s of states) if (worst === null || hostSyncSeverity[s] > hostSyncSeverity[worst]) worst = s;
  return worst;
}

/** A stalled host is Failed whatever its resources say; otherwise its worst resource wins; no resources is InSync. */
export function hostSync(status: HostStatus | null): HostSync {
  if (status === null) return 'Unknown';
  if (status.conditions.some((c) => c.type === 'Stalled' && c.status)) return 'Failed';
  return worstSync(status.resources.map((r) => r.sync)) ?? 'InSync';
}

/** `prod/eu/web` → `prod`, `prod/eu`, `prod/eu/web`. */
export function withAncestors(tag: string): string[] {
  const parts = tag.split('/').filter((p) => p !== '');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** True when a host with these tags is in the subtree of `tag`. */
export function inTag(hostTags: readonly string[], tag: string): boolean {
  return hostTags.some((t) => t === tag || t.startsWith(tag + '/'));
}

export interface TagRollupInput {
  tags: readonly string[];
  sync: HostSync;
  connectivity: Connectivity;
}

export interface TagNode {
  tag: string;
  name: string;
  total: number;
  worst: HostSync | null;
  sync: Partial<Record<HostSync, number>>;
  connectivity: Partial<Record<Connectivity, number>>;
  children: TagNode[];
}

/**
 * The tag tree: every tag (with its ancestors) as a node; each node counts the
 * hosts of its subtree once, even when a host carries several tags below it.
 */
export function buildTagTree(hosts: readonly TagRollupInput[], extraTags: readonly string[] = []): TagNode[] {
  const nodes = new Map<string, TagNode & { members: Set<number> }>();
  const node = (tag: string) => {
    let n = nodes.get(tag);
    if (!n) {
      n = { tag, name: tag.slice(tag.lastIndexOf('/') + 1), total: 0, worst: null, sync: {}, connectivity: {}, children: [], members: new Set() };
      nodes.set(tag, n);
    }
    return n;
  };
  for (const t of extraTags) for (const a of withAncestors(t)) node(a);
  hosts.forEach((h, index) => {
    for (const t of h.tags) for (const a of withAncestors(t)) node(a).members.add(index);
  });
  for (const n of nodes.values()) {
    for (const index of n.members) {
      const h = hosts[index]!;
      n.total++;
      n.sync[h.sync] = (n.sync[h.sync] ?? 0) + 1;
      n.connectivity[h.connectivity] = (n.connectivity[h.connectivity] ?? 0) + 1;
      if (n.worst === null || hostSyncSeverity[h.sync] > hostSyncSeverity[n.worst]) n.worst = h.sync;
    }
  }
  const roots: TagNode[] = [];
  for (const [tag, n] of [...nodes].sort(([a], [b]) => a.localeCompare(b))) {
    const slash = tag.lastIndexOf('/');
    const parent = slash < 0 ? undefined : nodes.get(tag.slice(0, slash));
    (parent ? parent.children : roots).push(n);
  }
  const strip = (n: TagNode & { members?: Set<number> }): TagNode => {
    const { members: _members, ...rest } = n;
    return { ...rest, children: n.children.map(strip) };
  };
  return roots.map(strip);
}
