// Counts per tag for an impact: how many of the hosts carrying a tag change,
// and the affected hosts grouped by their deepest path tag (the directory
// they sit in), which partitions them for a one-line summary.
import type { HostImpact, TagCount } from './types.ts';

export interface TaggedHost {
  id: string;
  dir: string;
  tags: readonly string[];
}

function parentDir(dir: string): string {
  const slash = dir.lastIndexOf('/');
  return slash < 0 ? '' : dir.slice(0, slash);
}

const byCount = (a: TagCount, b: TagCount) => b.affected - a.affected || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);

/** Every tag of an affected host, with how many hosts carry it in all (`all` = every host of both revisions, by id). */
export function tagCounts(affected: readonly HostImpact[], all: ReadonlyMap<string, TaggedHost>): TagCount[] {
  const totals = new Map<string, number>();
  for (const h of all.values()) for (const t of new Set(h.tags)) totals.set(t, (totals.get(t) ?? 0) + 1);
  const hit = new Map<string, number>();
  for (const h of affected) for (const t of new Set(h.tags)) hit.set(t, (hit.get(t) ?? 0) + 1);
  return [...hit].map(([tag, n]) => ({ tag, affected: n, hosts: totals.get(tag) ?? n })).sort(byCount);
}

/** The affected hosts by the directory their host directory is in ('' = the tree root). */
export function groupCounts(affected: readonly HostImpact[], all: ReadonlyMap<string, TaggedHost>): TagCount[] {
  const totals = new Map<string, number>();
  for (const h of all.values()) totals.set(parentDir(h.dir), (totals.get(parentDir(h.dir)) ?? 0) + 1);
  const hit = new Map<string, number>();
  for (const h of affected) hit.set(parentDir(h.dir), (hit.get(parentDir(h.dir)) ?? 0) + 1);
  return [...hit].map(([tag, n]) => ({ tag, affected: n, hosts: totals.get(tag) ?? n })).sort(byCount);
}
