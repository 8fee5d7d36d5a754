// The planner's inputs besides the desired state: what was observed on the host
// and what the agent recorded as its own.
import type { ResourceId, ResourceKind } from '../../shared/resources.ts';
import type { ContainerFieldRecord } from './container-fields.ts';
import type { LiveContainer, LiveFile, LiveNetwork, LiveUnit, LiveVolume } from '../drivers/types.ts';

/** One fresh observation of the host, keyed by resource name. */
export interface LiveState {
  containers: Map<string, LiveContainer>;
  units: Map<string, LiveUnit>;
  files: Map<string, LiveFile>;
  /** Observed when the host has (or had) network/volume resources. */
  networks?: Map<string, LiveNetwork>;
  volumes?: Map<string, LiveVolume>;
  /** Per-kind observation failures (e.g. Docker down): those resources are Unknown, never pruned or recreated. */
  unavailable: Partial<Record<ResourceKind, string>>;
}

export interface InventoryEntry {
  kind: ResourceKind;
  name: string;
  /** Hash of the spec the agent last applied. */
  hash: string;
  revision: string;
  appliedAt: string;
  /**
   * Taken over as it was found (docs/adopt.md), not created by the agent: the
   * container's id and the config hash its inspection matched (it carries no
   * labels of ours), or `{}` for a unit or file. Dropped once the agent recreates
   * or rewrites it.
   */
  adopted?: AdoptedMark;
  /** A container's applied spec, field by field, for plan's field diffs (agent/engine/container-fields.ts). */
  fields?: ContainerFieldRecord;
}

export interface AdoptedMark {
  at?: string;
  containerId?: string;
  configHash?: string;
}

/** Everything the agent created and still owns: prune removes only inventory − desired. */
export interface Inventory {
  version: 1;
  resources: Record<ResourceId, InventoryEntry>;
}

export function emptyInventory(): Inventory {
  return { version: 1, resources: {} };
}

/** Per-pass context that is not desired or live state. */
export interface PlanContext {
  revision: string;
  /** Resources whose drift correction is paused (flapping backoff), with the reason. */
  suppressed: Map<ResourceId, string>;
  /** Stop timeout used when a spec gives none, in seconds. */
  defaultStopTimeout: number;
  /** A manual sync: drift under `drift: report` is corrected too (`ignore` stays ignored). */
  correctReportedDrift?: boolean;
  /**
   * Adoption is on (host.yaml `adopt: true`, or the agent's `--adopt`): a live
   * resource the agent did not create that matches its declaration is taken over
   * as it is (docs/adopt.md).
   */
  adopt?: boolean;
}
