// How far a revision has got across a set of hosts: the hosts it concerns
// (declared and seen at least once: a host that never connected cannot
// apply anything and would hold a revision pending for ever), how many have
// applied it, and which failed on it (failed, refused or rolled back that
// revision). Used by the commit status and the "applied fleet-wide" event.
import type { HostSummary } from '../fleet/fleet-index.ts';
import type { HostProblems } from './host-problems.ts';

export interface RevisionProgress {
  affected: number;
  applied: number;
  /** Ids of the hosts that failed on the revision, sorted. */
  failed: string[];
}

export function revisionProgress(hosts: Iterable<HostSummary>, revision: string, problems: (id: string) => HostProblems): RevisionProgress {
  let affected = 0;
  let applied = 0;
  const failed: string[] = [];
  for (const h of hosts) {
    if (!h.declared || h.connectivity === 'NeverSeen') continue;
    affected++;
    if (h.lastAppliedRevision === revision) {
      applied++;
      continue;
    }
    const p = problems(h.id);
    if (p.failed?.revision === revision || p.refused?.revision === revision || p.rolledBack?.revision === revision) failed.push(h.id);
  }
  return { affected, applied, failed: failed.sort() };
}
