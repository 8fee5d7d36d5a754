// The impact of a commit on the fleet: which hosts change between two
// revisions and how. One JSON shape for `gitfleet diff --json`, the hub's
// GET /api/v1/commits/:rev/impact and the web view's commit page
// (docs/rollouts.md, "Impact preview", documents every field).
import type { ResourceId, ResourceKind } from '../../shared/resources.ts';

export const IMPACT_SCHEMA = 1;

export type Change = 'added' | 'changed' | 'removed';

/** One field of a resource that differs: `image`, `env.SITE`, `command[2]`, `drift`, `depends_on`. */
export interface FieldChange {
  path: string;
  /** Absent when the field is new at `to`. Long strings are cut (see `cut`). */
  from?: unknown;
  /** Absent when the field is gone at `to`. */
  to?: unknown;
  /** True when a string value was longer than the limit and was shortened. */
  cut?: true;
}

export interface ResourceChange {
  id: ResourceId;
  kind: ResourceKind;
  name: string;
  change: Change;
  /** For `changed`: the fields that differ (at most MAX_FIELDS, `moreFields` counts the rest). */
  fields?: FieldChange[];
  moreFields?: number;
  /** Declared with a value from an encrypted layer: its values show as «secret», never decrypted. */
  secret?: true;
  /**
   * The encrypted file it comes from changed between the revisions: its values
   * are not decrypted, so it may differ even when every shown field is equal.
   */
  encryptedChanged?: true;
  /** Where it is declared at `to` (at `from` when removed). */
  source: { file: string; line: number };
}

export interface HostImpact {
  host: string;
  /** Its directory at `to` (at `from` when removed). */
  dir: string;
  /** Path tags then cross-cutting tags, at `to` (at `from` when removed). */
  tags: string[];
  /** `added`: declared only at `to`; `removed`: only at `from` (its agent would refuse the commit). */
  change: Change;
  resources: ResourceChange[];
}

/** Hosts with a tag that change, out of all hosts with it (at `to`, or `from` for removed hosts). */
export interface TagCount {
  tag: string;
  affected: number;
  hosts: number;
}

/** How many resources of a kind change the same way per affected host: "3 containers changed per host". */
export interface PerHostCount {
  kind: ResourceKind;
  change: Change;
  /** Affected hosts where this kind changes this way. */
  hosts: number;
  /** Fewest and most such resources on one of those hosts. */
  min: number;
  max: number;
}

/** One resource id that changes on several hosts: "container/web changed on 37 hosts (image)". */
export interface ResourceSummary {
  id: ResourceId;
  change: Change;
  hosts: number;
  /** Union of the changed field paths (for `changed`). */
  fields: string[];
}

export interface RevisionSide {
  /** The full commit id (or a label when the tree was not read from Git). */
  revision: string;
  hosts: number;
}

export interface Impact {
  schema: typeof IMPACT_SCHEMA;
  from: RevisionSide;
  to: RevisionSide;
  /** Hosts that change (added, changed or removed). */
  affected: number;
  /** Hosts declared at either revision. */
  total: number;
  /** The affected hosts by their deepest path tag (a partition: the counts add up to `affected`); '' is the tree root. */
  groups: TagCount[];
  /** Every tag of an affected host (path and cross-cutting), most affected first. */
  tags: TagCount[];
  perHost: PerHostCount[];
  resources: ResourceSummary[];
  /** Affected hosts, sorted by id; unaffected hosts are not listed. */
  hosts: HostImpact[];
}
