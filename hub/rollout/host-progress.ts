// Where one host stands in a rollout, from what its agent last reported.
// done: applied the revision and Ready; failed: attempted it and is no longer
// trying, without having applied it (refused, or failed and rolled back);
// applying: at it; pending: not started (its wave is closed to it, or it is
// offline).
import type { HostSummary } from '../fleet/fleet-index.ts';

export const hostProgresses = ['pending', 'applying', 'done', 'failed'] as const;
export type HostProgress = (typeof hostProgresses)[number];

export type ProgressView = Pick<HostSummary, 'ready' | 'reconciling' | 'lastAppliedRevision' | 'lastAttemptedRevision'>;

export function progressOf(host: ProgressView | null, revision: string): HostProgress {
  if (!host) return 'pending';
  if (host.lastAppliedRevision === revision) return host.ready === true ? 'done' : 'applying';
  if (host.lastAttemptedRevision === revision) return host.reconciling ? 'applying' : 'failed';
  return 'pending';
}
