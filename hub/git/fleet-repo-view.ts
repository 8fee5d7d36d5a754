// What the hub needs to know from the fleet repository, behind a small
// interface: the head revision, the hosts and tags it declares, and which
// paths changed between two revisions. The real one reads the repo with the
// same Git and tree code as the agent (git-repo-view.ts); tests use a fake.
import type { Impact } from '../../repo/impact/types.ts';
import type { RolloutScope } from '../../repo/rollout/rollout-files.ts';

/** A host directory of the fleet tree (the shape repo/tree's validateTree returns). */
export interface DeclaredHost {
  id: string;
  /** Tree-relative directory, e.g. `prod/eu/web-01`. */
  dir: string;
  /** Ancestors of the host directory, general first: `prod`, `prod/eu`. */
  pathTags: string[];
  /** Cross-cutting tags from host.yaml, each a directory under `tags/`. */
  crossTags: string[];
}

export interface FleetHead {
  revision: string;
  committedAt?: string | undefined;
  subject?: string | undefined;
  hosts: DeclaredHost[];
  /** Every tag of the tree: each directory (path tags) and each cross-cutting tag. */
  tags: string[];
  /** Validation problems of the head tree, as one line each (the agents refuse such a commit). */
  issues: string[];
  /** Its rollout.yaml files (docs/rollouts.md); absent: none, every host follows the head. */
  rollouts?: HeadRollouts | undefined;
}

export interface HeadRollouts {
  /** Valid policies, deepest directory first. */
  scopes: RolloutScope[];
  /** Directories whose rollout.yaml is invalid: their hosts are held where they are until it is fixed. */
  invalid: string[];
}

export interface FleetRepoView {
  /** Fetches and reads the head of the configured ref. */
  refresh(): Promise<FleetHead>;
  /** Tree-relative paths changed between two revisions; null when that cannot be told (unrelated history, unknown revision). */
  changedPaths(from: string, to: string): Promise<string[] | null>;
  /** The impact preview between two fetched revisions (docs/rollouts.md); absent: the hub shows none. */
  impact?(from: string, to: string): Promise<Impact>;
  close?(): Promise<void>;
}
