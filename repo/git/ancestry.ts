// Rollback protection: is `target` a descendant of `lastApplied`?
//
// The clone is shallow, so a missing answer is not a "no": the path from
// target back to lastApplied may run through commits whose parents were never
// fetched (for example when lastApplied was fetched with --depth=1 after the
// target, or the clone was rebuilt). So: ask git; if it says no while the
// target's history is still cut somewhere, deepen (1, 4, 16, … commits) and ask
// again. It stops at "yes", or when the target's history is complete — then the
// "no" is final. In the common case (lastApplied fetched before and the new
// commits fetched on top of it) the first question answers it: no extra fetch.

export interface AncestryOps {
  hasCommit(revision: string): Promise<boolean>;
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;
  /** The commits reachable from `revision` that are shallow boundaries (their parents are missing). */
  cutsInHistoryOf(revision: string): Promise<number>;
  /** Fetches `by` more generations behind every shallow boundary. */
  deepen(by: number): Promise<void>;
}

export async function descendsFrom(ops: AncestryOps, lastApplied: string, target: string, maxRounds = 12): Promise<boolean> {
  if (lastApplied === target) return true;
  let by = 1;
  for (let round = 0; round <= maxRounds; round++) {
    if ((await ops.hasCommit(lastApplied)) && (await ops.isAncestor(lastApplied, target))) return true;
    if ((await ops.cutsInHistoryOf(target)) === 0) return false;
    if (round === maxRounds) break;
    await ops.deepen(by);
    by *= 4;
  }
  // 4^12 ≈ 16 million generations: the history is complete long before this.
  return false;
}
