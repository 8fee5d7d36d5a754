// The small part of a host's status that the fleet index keeps (conditions,
// revisions, sync, resource counts). The PostgreSQL store keeps it beside the
// full status, so a replica following another's writes reads a few hundred
// bytes per changed host instead of the whole snapshot (docs/hub.md, Several
// replicas).
import type { HostStatus } from '../../shared/status.ts';
import { hostSync } from './rollup.ts';
import type { HostSync } from './rollup.ts';

export interface HostDigest {
  status: Pick<HostStatus, 'conditions' | 'lastAppliedRevision' | 'lastAttemptedRevision' | 'updatedAt'>;
  sync: HostSync;
  resources: { total: number; notInSync: number };
}

export function digestStatus(status: HostStatus): HostDigest {
  return {
    status: {
      conditions: status.conditions,
      lastAppliedRevision: status.lastAppliedRevision,
      lastAttemptedRevision: status.lastAttemptedRevision,
      updatedAt: status.updatedAt,
    },
    sync: hostSync(status),
    resources: { total: status.resources.length, notInSync: status.resources.filter((r) => r.sync !== 'InSync' && r.sync !== 'Ignored').length },
  };
}
