// What the planner decides for one resource: the steps it needs now and its
// status as observed before those steps run.
import type { DesiredResource, DriftPolicy } from '../../shared/resources.ts';
import type { FieldDiff, HealthState, ResourceStatus, SyncState } from '../../shared/status.ts';
import { canonicalJson, sha256 } from './hash.ts';
import type { AdoptedMark, Inventory } from './model.ts';
import type { Step, StepCause } from './steps.ts';

export interface ResourcePlan {
  resource: DesiredResource;
  steps: Step[];
  status: ResourceStatus;
  /** The resource is (being) taken over as it was found: what the inventory records once it is in sync (docs/adopt.md). */
  adopt?: AdoptedMark;
}

/** The inventory's record of a spec: every key, so a run-state change in Git counts as intended. */
export function specHash(resource: DesiredResource): string {
  const { drift: _drift, depends_on: _deps, ...rest } = resource.spec;
  return sha256(canonicalJson(rest)).slice(0, 32);
}

/** A difference is intended when Git changed the spec since the agent last applied it; otherwise the host drifted. */
export function causeOf(resource: DesiredResource, inventory: Inventory): StepCause {
  const entry = inventory.resources[resource.id];
  return entry && entry.hash === specHash(resource) ? 'drift' : 'intended';
}

export function status(
  resource: DesiredResource,
  sync: SyncState,
  health: HealthState,
  diff: FieldDiff[] = [],
  message?: string,
): ResourceStatus {
  return {
    id: resource.id,
    sync,
    health,
    diff,
    ...(message === undefined ? {} : { message }),
    source: `${resource.source.file}:${resource.source.line}`,
  };
}

/**
 * Applies the drift policy: a drift under `report` keeps its diff but loses its
 * steps; under `ignore` it is neither corrected nor shown as drift. Intended
 * changes from Git are always applied.
 */
export function applyDriftPolicy(plan: ResourcePlan, cause: StepCause, policy: DriftPolicy, correctReported = false): ResourcePlan {
  if (cause !== 'drift' || plan.steps.length === 0 || policy === 'correct' || (policy === 'report' && correctReported)) return plan;
  if (policy === 'report') {
    return { ...plan, steps: [], status: { ...plan.status, sync: 'Drifted', message: 'drift reported, not corrected (drift: report)' } };
  }
  return { ...plan, steps: [], status: { ...plan.status, sync: 'Ignored', diff: [], message: 'drift ignored (drift: ignore)' } };
}
