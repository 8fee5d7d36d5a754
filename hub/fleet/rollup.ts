// Pure roll-up rules (docs/agent.md, "Status"): a host's sync state is its worst
// resource's, a tag's is its worst member's, and a tag's members are the
// hosts of its whole subtree.
import { syncSeverity } from '../../shared/status.ts';
import type { HostStatus, SyncState } from '../../shared/status.ts';

/** Sync state as the hub shows it: `Unknown` until a host has reported. */
export type HostSync = SyncState | 'Unknown';
export const hostSyncStates: HostSync[] = ['Failed', 'Drifted', 'Missing', 'OutOfSync', 'Pending', 'Unknown', 'InSync', 'Ignored'];

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

/** `a//b/` → `a/b`: the form withAncestors gives, so reported and repo tags meet in one node. */
function normalizeTag(tag: string): string {
  return tag.includes('//') || tag.startsWith('/') || tag.endsWith('/') ? tag.split('/').filter((p) => p !== '').join('/') : tag;
}

/**
 * The tag tree: every tag (with its ancestors) as a node; each node counts the
 * hosts of its subtree once, even when a host carries several tags below it.
 *
 * One pass over the hosts: each host walks up from each of its tags and stops
 * at the first ancestor it has already counted, so every (host, tag node) pair
 * is visited once. The work is the number of those pairs (times a tag's
 * length), never more: reported tags are bounded (TAG_LIMITS) and a tag's
 * ancestors are not expanded again.
 */
export function buildTagTree(hosts: readonly TagRollupInput[], extraTags: readonly string[] = []): TagNode[] {
  const nodes = new Map<string, TagNode>();
  const node = (tag: string) => {
    let n = nodes.get(tag);
    if (!n) {
      n = { tag, name: tag.slice(tag.lastIndexOf('/') + 1), total: 0, worst: null, sync: {}, connectivity: {}, children: [] };
      nodes.set(tag, n);
    }
    return n;
  };
  const walkUp = (tag: string, visit: (tag: string) => boolean) => {
    let t = normalizeTag(tag);
    while (t !== '' && visit(t)) {
      const slash = t.lastIndexOf('/');
      t = slash < 0 ? '' : t.slice(0, slash);
    }
  };
  for (const t of extraTags) walkUp(t, (a) => (nodes.has(a) ? false : (node(a), true)));
  const counted = new Set<string>();
  for (const h of hosts) {
    counted.clear();
    for (const t of h.tags) {
      walkUp(t, (a) => {
        if (counted.has(a)) return false;
        counted.add(a);
        const n = node(a);
        n.total++;
        n.sync[h.sync] = (n.sync[h.sync] ?? 0) + 1;
        n.connectivity[h.connectivity] = (n.connectivity[h.connectivity] ?? 0) + 1;
        if (n.worst === null || hostSyncSeverity[h.sync] > hostSyncSeverity[n.worst]) n.worst = h.sync;
        return true;
      });
    }
  }
  const roots: TagNode[] = [];
  for (const [tag, n] of [...nodes].sort(([a], [b]) => a.localeCompare(b))) {
    const slash = tag.lastIndexOf('/');
    const parent = slash < 0 ? undefined : nodes.get(tag.slice(0, slash));
    (parent ? parent.children : roots).push(n);
  }
  return roots;
}
