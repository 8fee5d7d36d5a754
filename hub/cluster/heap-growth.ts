// A replica's memory budget (docs/hub.md, Memory of a replica): V8 lets its
// heap grow, between full collections, by a factor it picks from how fast the
// process allocates, up to 4 on a machine with more than 2 GiB for the heap.
// A replica under steady ingest allocates fast (every status parsed, batched,
// read back by the others), so its heap grew to 3-4 times what it really
// held: 952-961 MiB resident at its peak for 17,000 agents on one replica,
// 728 MiB with the heap allowed to double at most, 599-602 MiB to grow by
// half (bench/hub-scale-pg.ts 1 17000 200 10, one run after the other). Each
// step down costs CPU (a full collection marks everything live, and comes
// more often): doubling is the middle ground kept. Set at start, it holds for
// the life of the process; an operator's own --heap-growing-percent on node's
// command line is left as it is.
import { setFlagsFromString } from 'node:v8';

/** The heap may grow by this much (percent) past what the last full collection kept, before the next one. */
export const REPLICA_HEAP_GROWING_PERCENT = 100;

/** Returns the percent in force: this replica's, or null when the operator set their own. */
export function boundHeapGrowth(percent = REPLICA_HEAP_GROWING_PERCENT, nodeFlags: readonly string[] = process.execArgv): number | null {
  if (nodeFlags.some((f) => /--heap[-_]growing[-_]percent/.test(f))) return null;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
