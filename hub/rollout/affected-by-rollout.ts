// Which hosts of a scope a new head affects, judged against what each host
// runs (not against the previous head): a host at the head already is not
// affected, one that never applied anything is, and otherwise the paths
// changed between its applied revision and the head decide (hub/git's
// affectedHosts: its layers). One diff per distinct applied revision — a
// fleet runs a handful of revisions, not one per host.
import { affectedHosts } from '../git/affected-hosts.ts';
import type { DeclaredHost } from '../git/fleet-repo-view.ts';

export async function affectedSince(
  hosts: readonly DeclaredHost[],
  head: string,
  appliedOf: (host: string) => string | null,
  changedPaths: (from: string, to: string) => Promise<string[] | null>,
): Promise<string[]> {
  const byApplied = new Map<string | null, DeclaredHost[]>();
  for (const h of hosts) {
    const applied = appliedOf(h.id);
    byApplied.set(applied, [...(byApplied.get(applied) ?? []), h]);
  }
  const out: string[] = [];
  for (const [applied, group] of byApplied) {
    if (applied === head) continue;
    const changed = applied === null ? null : await changedPaths(applied, head).catch(() => null);
    out.push(...affectedHosts(changed, group.map((h) => ({ id: h.id, dir: h.dir, crossTags: h.crossTags }))));
  }
  return out.sort();
}
