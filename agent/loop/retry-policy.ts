// Whether the head that failed last time is tried again now. The cause of the
// failure decides:
// - the host (a step failed, the revision did not become healthy, a driver
//   threw): retried with exponential backoff — the image may be loaded, the
//   disk freed, the registry back by then;
// - the commit (validation, admission, the empty-state guard): the same commit
//   fails the same way, so it is not retried until the head or the agent's
//   configuration changes.
// A person's manual sync (`agent --once`, SIGHUP, Reconcile now) retries at
// once whatever the cause.
import { backoffDelay } from '../../shared/backoff.ts';
import type { Trigger } from '../../shared/status.ts';
import type { Rejected, Revisions } from '../state/state-store.ts';

export type FailureCause = 'host' | 'commit';

/** What revisions.json keeps about a failed head (agent/state/state-store.ts). */
export type Rejection = Rejected;

export function rejectionOf(revisions: Revisions): Rejection | null {
  return revisions.rejected;
}

export type Decision = 'apply' | 'refused' | 'waiting';

/** What to do with `head` given the last rejection. */
export function decide(rejection: Rejection | null, head: string, trigger: Trigger, configKey: string, now: number): Decision {
  if (rejection === null || rejection.revision !== head || trigger === 'manual') return 'apply';
  if (rejection.cause === 'commit') return rejection.configKey === configKey ? 'refused' : 'apply';
  // A host failure (or a rejection written before causes were recorded): due once its time has come.
  // The daemon's retry timer runs on the monotonic clock, so its trigger is due even when the wall
  // clock was stepped back since the failure (else the retry would wait for the size of the step).
  if (trigger === 'retry') return 'apply';
  return rejection.nextRetryAt == null || now >= rejection.nextRetryAt ? 'apply' : 'waiting';
}

export interface RetryOptions {
  /** The first retry interval (agent config `retryInterval`, default 1 min). */
  baseMs: number;
  /** The interval doubles up to this (default 30 min). */
  maxMs: number;
  random?: () => number;
}

export const defaultRetry: RetryOptions = { baseMs: 60_000, maxMs: 30 * 60_000 };

/** The delay before the retry after `failures` host failures in a row (1 → about baseMs). */
export function retryDelay(failures: number, options: RetryOptions): number {
  // Up to 20% early: a fleet that failed together does not retry together.
  return backoffDelay(Math.max(0, failures - 1), { baseMs: options.baseMs, maxMs: Math.max(options.maxMs, options.baseMs), jitter: 0.2, ...(options.random ? { random: options.random } : {}) });
}
