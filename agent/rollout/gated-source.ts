// The agent's source under a staged rollout: the same source, but never a
// newer revision than the hub released (release-gate.ts). The released
// revision is taken from what the clone already has when it can (a rollback
// to a revision this host ran before), else fetched by its commit id with
// the usual signature and ancestry checks. Nothing released yet and nothing
// applied: ROLLOUT_HELD, retried — the host waits for its wave.
import { GitfleetError } from '../../shared/errors.ts';
import type { DesiredSource, Snapshot } from '../source/desired-source.ts';
import type { ReleaseGate } from './release-gate.ts';

export class GatedSource implements DesiredSource {
  readonly description: string;

  constructor(
    private readonly inner: DesiredSource,
    private readonly gate: ReleaseGate,
  ) {
    this.description = inner.description;
  }

  async sync(options: { lastApplied: string | null; revision?: string }): Promise<Snapshot> {
    const decision = this.gate.decision();
    if (decision.follow === 'head') return this.inner.sync(options);
    const { revision, rollout } = decision;
    const by = rollout ? ` (rollout ${rollout})` : '';
    if (revision === null) {
      if (options.lastApplied !== null) return this.inner.snapshot(options.lastApplied);
      throw new GitfleetError('ROLLOUT_HELD', `the hub has released no revision to this host yet${by}; it waits for its wave`);
    }
    if (revision === options.lastApplied) return this.inner.snapshot(revision);
    try {
      return await this.inner.snapshot(revision);
    } catch {
      // Not in the clone yet: fetch exactly that commit.
    }
    const snapshot = await this.inner.sync({ lastApplied: options.lastApplied, revision });
    if (snapshot.revision === revision) return snapshot;
    // A source that cannot pin a commit (a plain directory) gave its head: hold where the host is.
    if (options.lastApplied !== null) return this.inner.snapshot(options.lastApplied);
    throw new GitfleetError('ROLLOUT_HELD', `the source cannot provide the released revision ${revision.slice(0, 12)}${by}`);
  }

  snapshot(revision: string): Promise<Snapshot> {
    return this.inner.snapshot(revision);
  }

  prune(keep: string[]): Promise<void> {
    return this.inner.prune(keep);
  }
}
