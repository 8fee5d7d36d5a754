// What the hub released to this agent (docs/rollouts.md): whether a rollout
// policy applies to the host and the newest revision it may apply. Kept on
// disk, so a restarted agent whose hub is down still holds where it was told.
// While the hub cannot be reached the agent holds (the default) or, with
// `rollout.whenHubUnreachable: proceed`, follows the head once the hub has
// been away for `rollout.proceedAfter`. Until it first hears from a hub that
// speaks rollouts, the agent follows the head as it always did.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import { Release } from '../../shared/protocol.ts';
import { writeFileAtomic } from '../state/atomic-file.ts';
import { monotonicMs } from '../../shared/monotonic.ts';

export const RELEASE_FILE = 'rollout-release.json';

export type GateDecision = { follow: 'head' } | { follow: 'release'; revision: string | null; rollout: string | null };

export interface ReleaseGateOptions {
  stateDir: string;
  whenHubUnreachable: 'hold' | 'proceed';
  proceedAfterMs: number;
  logger: Logger;
  /** Monotonic milliseconds (tests pass their own). */
  now?: () => number;
}

export class ReleaseGate {
  readonly #o: ReleaseGateOptions;
  #release: Release | null = null;
  /** Since when the hub has been unreachable (monotonic ms); null while connected. */
  #awaySince: number | null;
  #proceeding = false;

  constructor(o: ReleaseGateOptions) {
    this.#o = o;
    // An agent starts without its hub: the clock of "unreachable" starts with it.
    this.#awaySince = this.#now();
  }

  #now(): number {
    return (this.#o.now ?? monotonicMs)();
  }

  get release(): Release | null {
    return this.#release;
  }

  async load(): Promise<void> {
    try {
      const parsed = Release.safeParse(JSON.parse(await readFile(join(this.#o.stateDir, RELEASE_FILE), 'utf8')));
      if (parsed.success) this.#release = parsed.data;
    } catch {
      // None yet (or unreadable): the agent follows the head until a hub says otherwise.
    }
  }

  /** A release from the hub; true when it changes what the agent may apply (reconcile then). */
  async update(release: Release): Promise<boolean> {
    const before = JSON.stringify(this.decision());
    this.#release = { type: 'release', underPolicy: release.underPolicy, revision: release.revision, ...(release.rollout === undefined ? {} : { rollout: release.rollout }) };
    try {
      await writeFileAtomic(join(this.#o.stateDir, RELEASE_FILE), JSON.stringify(this.#release));
    } catch (error) {
      this.#o.logger.error({ err: messageOf(error) }, 'cannot save the rollout release; a restart without the hub follows the head');
    }
    const changed = JSON.stringify(this.decision()) !== before;
    if (changed) this.#o.logger.info({ underPolicy: release.underPolicy, revision: release.revision, rollout: release.rollout ?? null }, 'rollout release from the hub');
    return changed;
  }

  hubConnected(connected: boolean): void {
    if (connected) {
      this.#awaySince = null;
      this.#proceeding = false;
    } else this.#awaySince ??= this.#now();
  }

  /** When a proceed decision is due (monotonic ms), so the caller can reconcile then; null when none. */
  proceedDueAt(): number | null {
    if (this.#o.whenHubUnreachable !== 'proceed' || this.#awaySince === null || !this.#release?.underPolicy) return null;
    return this.#awaySince + this.#o.proceedAfterMs;
  }

  decision(): GateDecision {
    const r = this.#release;
    if (!r || !r.underPolicy) return { follow: 'head' };
    const due = this.proceedDueAt();
    if (due !== null && this.#now() >= due) {
      if (!this.#proceeding) this.#o.logger.warn({ proceedAfterMs: this.#o.proceedAfterMs }, 'the hub has been unreachable for rollout.proceedAfter: following the head (rollout.whenHubUnreachable: proceed)');
      this.#proceeding = true;
      return { follow: 'head' };
    }
    return { follow: 'release', revision: r.revision, rollout: r.rollout ?? null };
  }
}
