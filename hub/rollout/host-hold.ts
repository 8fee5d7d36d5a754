// Where a rollout holds one host, for its host page and `gitfleet status HOST`:
// without this a host waiting for its wave only looks behind the head.
import type { RolloutRecord, RolloutState } from './rollout-record.ts';
import { releasedIn } from './releases.ts';

export interface RolloutHold {
  /** The rollout's id (its page is #/rollout/<id>). */
  id: string;
  state: RolloutState;
  /** The revision the rollout stages. */
  revision: string;
  /** The host's wave: its name and its 1-based number of `waves`. */
  wave: string;
  waveNumber: number;
  waves: number;
  /** What the host may run now (null: what it ran before is unknown). */
  released: string | null;
  /** True while the host may not run the rollout's revision (its wave is not open, or a halt rolled it back). */
  held: boolean;
}

/** A host held where it is because a rollout.yaml above it is invalid at the head (no rollout runs for it). */
export interface PolicyHold {
  /** The invalid file, e.g. `prod/rollout.yaml`. */
  file: string;
  /** What the host may run meanwhile: what it ran (null: unknown). */
  released: string | null;
}

export function rolloutHold(r: RolloutRecord, host: string): RolloutHold | null {
  const index = r.waves.findIndex((w) => w.hosts.includes(host));
  if (index < 0) return null;
  const released = releasedIn(r, host);
  return { id: r.id, state: r.state, revision: r.revision, wave: r.waves[index]!.name, waveNumber: index + 1, waves: r.waves.length, released, held: released !== r.revision };
}
