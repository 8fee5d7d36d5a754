// Which affected hosts go in which wave. Waves are filled in order from the
// hosts not taken yet: `tags` and `hosts` take the matching ones, `percent`
// takes that share (rounded up) of the ones left. Hosts no wave took form a
// last wave, so a policy that names only a canary still reaches everyone.
// Percent waves pick by a hash of the host id, not its name, so a canary is
// spread over the fleet rather than the alphabetically first hosts, and the
// same commit always gives the same waves (a restarted hub plans the same).
import { createHash } from 'node:crypto';
import type { RolloutPolicy } from '../../repo/rollout/rollout-schema.ts';

export interface PlannedHost {
  id: string;
  /** Path tags (with ancestors) and cross-cutting tags. */
  tags: readonly string[];
}

export interface PlannedWave {
  name: string;
  hosts: string[];
}

function spreadKey(id: string, revision: string): string {
  return createHash('sha256').update(`${revision}\0${id}`).digest('hex');
}

export function planWaves(policy: Pick<RolloutPolicy, 'waves'>, hosts: readonly PlannedHost[], revision: string): PlannedWave[] {
  const keys = new Map(hosts.map((h) => [h.id, spreadKey(h.id, revision)]));
  let left = [...hosts].sort((a, b) => (keys.get(a.id)! < keys.get(b.id)! ? -1 : 1));
  const waves: PlannedWave[] = [];
  policy.waves.forEach((wave, i) => {
    let taken: PlannedHost[];
    if (wave.hosts) {
      const ids = new Set(wave.hosts);
      taken = left.filter((h) => ids.has(h.id));
    } else if (wave.tags) {
      const tags = wave.tags;
      taken = left.filter((h) => h.tags.some((t) => tags.includes(t)));
    } else {
      taken = left.slice(0, Math.ceil((left.length * (wave.percent ?? 100)) / 100));
    }
    const ids = new Set(taken.map((h) => h.id));
    left = left.filter((h) => !ids.has(h.id));
    // An empty wave is kept (it shows the policy as written) and closes as soon as it opens.
    waves.push({ name: wave.name ?? `wave ${i + 1}`, hosts: taken.map((h) => h.id).sort() });
  });
  if (left.length > 0) waves.push({ name: 'the rest', hosts: left.map((h) => h.id).sort() });
  return waves;
}
