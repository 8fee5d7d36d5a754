// Where desired states come from. In production a Git repository (repo/git);
// for local trials a plain directory, snapshotted by content so rollback works.
import type { Snapshot } from '../../repo/git/types.ts';

export type { Snapshot };

export interface DesiredSource {
  /** A short description for logs and status (credentials redacted). */
  readonly description: string;
  /**
   * The current head, verified; throws GitfleetError (the caller keeps its last good revision).
   * `revision`: that commit instead of the head, verified the same way (a source that cannot pin one returns its head).
   */
  sync(options: { lastApplied: string | null; revision?: string }): Promise<Snapshot>;
  /** A snapshot of a revision synced before (to roll back or to enforce offline). */
  snapshot(revision: string): Promise<Snapshot>;
  prune(keep: string[]): Promise<void>;
}
