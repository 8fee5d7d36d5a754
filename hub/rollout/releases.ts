// What a host may run, decided by the rollout that holds it: its wave open →
// the rollout's revision; not yet → what it ran before (its baseline); a
// halted or aborted rollout whose policy says rollback → the baseline for
// everyone, the updated hosts included.
import type { RolloutRecord, WaveRecord } from './rollout-record.ts';

/** host → its wave, per record (the hub asks for every host of a 10,000-host rollout at once). */
const waveOf = new WeakMap<RolloutRecord, Map<string, WaveRecord>>();

function waveIndex(r: RolloutRecord): Map<string, WaveRecord> {
  let index = waveOf.get(r);
  if (!index) {
    index = new Map();
    for (const w of r.waves) for (const h of w.hosts) index.set(h, w);
    waveOf.set(r, index);
  }
  return index;
}

export function releasedIn(r: RolloutRecord, host: string): string | null {
  if ((r.state === 'halted' || r.state === 'aborted') && r.policy.onHalt === 'rollback') return r.baseline[host] ?? null;
  const wave = waveIndex(r).get(host);
  if (wave && wave.openedAt !== null) return r.revision;
  return r.baseline[host] ?? null;
}
