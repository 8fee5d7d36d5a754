// The API's shapes, as the hub defines them: type-only imports, so nothing of
// the hub's server code reaches the browser bundle.
import type { FleetSummary, HostSummary } from '../../fleet/fleet-index.ts';
import type { TagNode } from '../../fleet/rollup.ts';
import type { StoredEvent } from '../../store/fleet-store.ts';
import type { HostFacts } from '../../../shared/protocol.ts';
import type { Attempt, HostStatus } from '../../../shared/status.ts';
import type { PolicyHold, RolloutHold } from '../../rollout/host-hold.ts';

export type { FleetSummary, HostSummary, TagNode, StoredEvent, HostFacts, Attempt, HostStatus, RolloutHold, PolicyHold };
export type { FieldDiff, ResourceStatus, Condition } from '../../../shared/status.ts';
export type { HostSync } from '../../fleet/rollup.ts';

export type Role = 'admin' | 'viewer';

export interface HostPage {
  total: number;
  offset: number;
  limit: number;
  hosts: HostSummary[];
}

export interface HostDetail {
  summary: HostSummary;
  enrolledAt: string | null;
  facts: HostFacts | null;
  droppedEvents: number;
  status: HostStatus | null;
  attempts: Attempt[];
  events: StoredEvent[];
  /** The active rollout that decides what this host may run (absent from an older hub). */
  rollout?: RolloutHold | null;
  /** An invalid rollout.yaml above this host holds it where it is (absent from an older hub). */
  rolloutPolicyInvalid?: PolicyHold | null;
}

export interface TagsResponse {
  tags: TagNode[];
  /** Cross-cutting tags (directories under `tags/`), listed apart from the path hierarchy. */
  crossTags?: string[];
}

export interface ReconcileOutcome {
  requested: number;
  reached: string[];
  notConnected: string[];
}

/** One `change` event of /api/v1/events. */
export interface ChangeEvent {
  hosts: HostSummary[];
  head?: string;
  summary: FleetSummary;
}
