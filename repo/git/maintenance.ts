// Keeps the local clone bounded. Every incremental fetch adds one pack (or a
// few loose objects), and gc.auto is off in our environment (git-env.ts: an
// automatic gc would run detached, inside a fetch, at a moment we do not pick).
// So after a fetch the source looks at the object store (`count-objects -v`,
// a few ms) and, past a bound, runs `git gc` itself: one pack, loose objects
// packed, unreachable ones older than gc's default two weeks pruned. It runs
// queued behind the sync that fetched, never inside it: the reconcile already
// has its snapshot.

export interface MaintenancePolicy {
  /** gc when the clone holds more packs than this (default 16). */
  maxPacks?: number;
  /** gc when it holds more loose objects than this (default 1000). */
  maxLooseObjects?: number;
}

export interface ObjectCounts {
  loose: number;
  packs: number;
  /** Bytes: loose objects plus packs. */
  sizeBytes: number;
}

/** `git count-objects -v` output → counts (sizes there are KiB). */
export function parseCountObjects(out: string): ObjectCounts {
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(out)?.[1] ?? 0);
  return { loose: field('count'), packs: field('packs'), sizeBytes: (field('size') + field('size-pack')) * 1024 };
}

export function needsGc(counts: ObjectCounts, policy: MaintenancePolicy): boolean {
  return counts.packs > (policy.maxPacks ?? 16) || counts.loose > (policy.maxLooseObjects ?? 1000);
}
