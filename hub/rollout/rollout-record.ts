// A rollout as the hub stores it: one commit staged over the hosts of one
// rollout.yaml scope. Everything the coordinator needs to resume after a
// restart is here (absolute times, the waves with their hosts, who failed,
// what each host ran before), so the store keeps it as one JSON body.
import type { RolloutPolicy } from '../../repo/rollout/rollout-schema.ts';

/**
 * running: waves open in turn (soaking or waiting for the window in between);
 * paused: an admin stopped it opening waves; halted: the failure budget was
 * crossed (or an admin aborted with hold/rollback per onHalt); done: every wave
 * closed; superseded: a newer commit's rollout took its hosts over.
 */
export const rolloutStates = ['running', 'paused', 'halted', 'aborted', 'done', 'superseded'] as const;
export type RolloutState = (typeof rolloutStates)[number];

/** Active: the rollout still decides what some hosts may run. */
export function isActive(state: RolloutState): boolean {
  return state === 'running' || state === 'paused' || state === 'halted' || state === 'aborted';
}

export interface WaveRecord {
  name: string;
  hosts: string[];
  openedAt: string | null;
  closedAt: string | null;
}

export type RolloutActionName = 'created' | 'opened' | 'closed' | 'timed-out' | 'halted' | 'done' | 'superseded' | 'pause' | 'resume' | 'promote' | 'abort';

export interface RolloutAction {
  action: RolloutActionName;
  /** `hub` for the coordinator's own steps; the token's name (`admin`) for an admin action. */
  by: string;
  at: string;
  note?: string;
}

export interface RolloutRecord {
  /** The revision's first 12 characters, then `@scope` with `/` as `:` for a scope below the root. */
  id: string;
  revision: string;
  subject: string | null;
  /** The directory of the rollout.yaml ('' is the tree root). */
  scope: string;
  policy: RolloutPolicy;
  state: RolloutState;
  createdAt: string;
  updatedAt: string;
  waves: WaveRecord[];
  /** Index of the wave open now, or of the next to open; waves.length when all are closed. */
  current: number;
  /** The next wave opens no earlier than this. */
  soakUntil: string | null;
  /** Each host's revision before this rollout (what it may run until its wave opens, and after a rollback). */
  baseline: Record<string, string | null>;
  /** Hosts counted failed: failed or rolled back at the revision, or not done when their wave timed out. */
  failed: string[];
  /** Failed hosts tolerated (the policy's budget over this rollout's hosts); more halt it. */
  budget: number;
  haltReason: string | null;
  /** Newest last, at most MAX_HISTORY. */
  history: RolloutAction[];
}

export const MAX_HISTORY = 200;

export function rolloutId(revision: string, scope: string): string {
  return scope === '' ? revision.slice(0, 12) : `${revision.slice(0, 12)}@${scope.replaceAll('/', ':')}`;
}

export function record(r: RolloutRecord, action: RolloutActionName, by: string, at: string, note?: string): void {
  r.history.push({ action, by, at, ...(note === undefined ? {} : { note }) });
  if (r.history.length > MAX_HISTORY) r.history.splice(0, r.history.length - MAX_HISTORY);
  r.updatedAt = at;
}

/** Every host of the rollout, wave by wave. */
export function hostsOf(r: RolloutRecord): string[] {
  return r.waves.flatMap((w) => w.hosts);
}
