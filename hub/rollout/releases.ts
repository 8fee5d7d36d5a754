// What a host may run, decided by the rollout that holds it: its wave open →
// the rollout's revision; not yet → what it ran before (its baseline); a
// halted or aborted rollout whose policy says rollback → the baseline for
// everyone, the updated hosts included.
import type { RolloutRecord } from './rollout-record.ts';

export function releasedIn(r: RolloutRecord, host: string): string | null {
  if ((r.state === 'halted' || r.state === 'aborted') && r.policy.onHalt === 'rollback') return r.baseline[host] ?? null;
  const wave = r.waves.find((w) => w.hosts.includes(host));
  if (wave && wave.openedAt !== null) return r.revision;
  return r.baseline[host] ?? null;
}
