// The status model (docs/agent.md, "Status"). Zod schemas because status travels on the
// wire; a schema and its inferred type share one name.
import { z } from 'zod';
import { errorCodes, type ErrorCode } from './errors.ts';
import { LOG_LIMITS, logLinesWithin } from './log-lines.ts';

/**
 * A resource's sync state, a closed set (docs/api.md, "States"): InSync; OutOfSync, Git
 * changed it and the change is not applied yet; Drifted, it was changed on the host;
 * Missing, it is not there; Pending, it cannot be observed or waits; Failed; Ignored.
 * OutOfSync is protocol 3: statusForProtocol() sends it to an older hub as Drifted.
 */
export const SyncState = z.enum(['InSync', 'OutOfSync', 'Drifted', 'Missing', 'Pending', 'Failed', 'Ignored']);
export type SyncState = z.infer<typeof SyncState>;

export const HealthState = z.enum(['Healthy', 'Progressing', 'Degraded', 'Unknown']);
export type HealthState = z.infer<typeof HealthState>;

/**
 * Size bounds of a reported status (docs/security.md, "Limits on what an
 * agent sends"); with MAX_FRAME_BYTES they bound what one host can make the
 * hub parse, store and serve.
 */
export const STATUS_LIMITS = {
  resources: 5000,
  diffsPerResource: 100,
  /** Characters of one desired/live value (strings and keys), and its nesting depth. */
  diffValueLength: 1024,
  diffValueDepth: 4,
  /** Characters of a resource's or condition's message. */
  messageLength: 4096,
  attempts: 50,
  /** Steps listed in one attempt's `intended` or `driftCorrected`. */
  attemptSteps: 1000,
} as const;

/**
 * True when a parsed JSON value is at most `maxChars` characters of strings
 * and keys (plus one per number, boolean or null) and `maxDepth` levels deep.
 * Walked iteratively with an early stop, so a hostile value costs at most the
 * budget, never a deep recursion.
 */
export function jsonWithin(value: unknown, maxChars: number, maxDepth: number): boolean {
  let budget = maxChars;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') budget -= v.length;
    else if (v !== null && typeof v === 'object') {
      if (depth >= maxDepth) return false;
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        budget -= (Array.isArray(v) ? 0 : k.length) + 1;
        if (budget < 0) return false;
        stack.push([child, depth + 1]);
      }
    } else budget -= 1;
    if (budget < 0) return false;
  }
  return true;
}

/** A desired or live value: any JSON (the agent sends scalars), bounded in size and depth. */
export const DiffValue = z.unknown().refine((v) => jsonWithin(v, STATUS_LIMITS.diffValueLength, STATUS_LIMITS.diffValueDepth), {
  message: `a diff value is at most ${STATUS_LIMITS.diffValueLength} characters and ${STATUS_LIMITS.diffValueDepth} levels deep`,
});

export const FieldDiff = z.object({
  field: z.string().max(200),
  desired: DiffValue,
  live: DiffValue,
});
export type FieldDiff = z.infer<typeof FieldDiff>;

/**
 * What adoption (docs/adopt.md) did with a resource the agent did not create:
 * a closed set, shown with the resource's status.
 * - `Adopted`: taken over as it was found (its live state matches the
 *   declaration); nothing was recreated, rewritten, restarted or reloaded.
 * - `Replace`: a container that differs from its declaration is replaced (the
 *   diff names the keys that differ): the one adoption with downtime.
 * - `Rewrite`: a unit or file that differs is written as declared (a running
 *   unit is restarted), as without adoption.
 */
export const AdoptionState = z.enum(['Adopted', 'Replace', 'Rewrite']);
export type AdoptionState = z.infer<typeof AdoptionState>;

export const ResourceStatus = z.object({
  id: z.string().max(1024),
  sync: SyncState,
  health: HealthState,
  diff: z.array(FieldDiff).max(STATUS_LIMITS.diffsPerResource),
  message: z.string().max(STATUS_LIMITS.messageLength).optional(),
  source: z.string().max(1024).optional(),
  /** A failing unit's or container's last journal/log lines, oldest first (shared/log-lines.ts bounds them). */
  logs: z
    .array(z.string().max(LOG_LIMITS.bytes))
    .max(LOG_LIMITS.lines)
    .refine(logLinesWithin, { message: `at most ${LOG_LIMITS.lines} log lines and ${LOG_LIMITS.bytes} bytes` })
    .optional(),
  /** The exit code of its last main process, when it exited. */
  exitCode: z.number().int().min(-2147483648).max(2147483647).optional(),
  /** The signal that killed its last main process (`SIGKILL`). */
  signal: z.string().max(32).optional(),
  /**
   * Set on a resource the agent took over instead of creating: one of AdoptionState.
   * On the wire a bounded string, so a hub shows the states of a newer agent instead of refusing its status.
   */
  adoption: z.string().max(32).optional(),
});
export type ResourceStatus = z.infer<typeof ResourceStatus>;

export const ConditionType = z.enum(['Ready', 'Reconciling', 'Stalled']);
export type ConditionType = z.infer<typeof ConditionType>;

/**
 * Every reason the agent puts on a condition: a closed set, documented in
 * docs/agent.md. Besides these names, a condition may carry an error code of
 * shared/errors.ts (GIT_UNTRUSTED, UNKNOWN_KEY, DOCKER_UNAVAILABLE…) when that
 * error is the cause. The wire schema (Condition) stays a bounded string so a
 * hub shows the reasons of a newer agent instead of refusing its status.
 */
export const ConditionReasonName = z.enum([
  // Ready
  'Converged', // the host matches the revision it enforces, everything healthy
  'ApplyFailed', // a step failed
  'DriftDetected', // a resource differs and is reported, not corrected
  'Unhealthy', // in sync but not (yet) healthy
  'NoRevision', // nothing has been applied yet
  // Reconciling
  'Progressing', // a reconcile is running
  'Idle', // no reconcile is running
  'Aborted', // the agent stopped in the middle of a reconcile
  // Stalled
  'NoBlockingProblem', // the head is applied (or being enforced) without a blocking problem
  'HealthCheckFailed', // a new revision did not become healthy in time
]);
export type ConditionReasonName = z.infer<typeof ConditionReasonName>;

export const ConditionReason = z.union([ConditionReasonName, z.enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]])]);
export type ConditionReason = z.infer<typeof ConditionReason>;

export const Condition = z.object({
  type: ConditionType,
  status: z.boolean(),
  reason: z.string().max(100),
  message: z.string().max(4096),
  lastTransitionTime: z.string().max(40),
});
export type Condition = z.infer<typeof Condition>;

/** What started a reconcile; `retry` is the agent's own retry of a host failure (with backoff). */
export const Trigger = z.enum(['startup', 'poll', 'hub', 'docker-event', 'drift-check', 'manual', 'rollback', 'retry']);
export type Trigger = z.infer<typeof Trigger>;

export const AttemptResult = z.enum(['Succeeded', 'Failed', 'RolledBack', 'Refused']);
export type AttemptResult = z.infer<typeof AttemptResult>;

export const Attempt = z.object({
  trigger: Trigger,
  revision: z.string().max(64),
  startedAt: z.string().max(40),
  durationMs: z.number().nonnegative(),
  result: AttemptResult,
  /** Steps that came from a new desired state. */
  intended: z.array(z.string().max(1024)).max(STATUS_LIMITS.attemptSteps),
  /** Steps that put back what was changed on the host by hand. */
  driftCorrected: z.array(z.string().max(1024)).max(STATUS_LIMITS.attemptSteps),
  reason: z.string().max(100).optional(),
  message: z.string().max(4096).optional(),
});
export type Attempt = z.infer<typeof Attempt>;

export const Refusal = z.object({
  /** The refused head, when known. */
  revision: z.string().max(64).nullable(),
  reason: z.string().max(100),
  message: z.string().max(STATUS_LIMITS.messageLength),
  since: z.string().max(40),
});
export type Refusal = z.infer<typeof Refusal>;

export const HostStatus = z.object({
  host: z.string().max(253),
  place: z.string().max(1024),
  tags: z.array(z.string().max(1024)).max(256),
  conditions: z.array(Condition).max(3),
  lastAppliedRevision: z.string().max(64).nullable(),
  lastAttemptedRevision: z.string().max(64).nullable(),
  resources: z.array(ResourceStatus).max(STATUS_LIMITS.resources),
  /** Newest first: the hub files as new the ones before the first it already holds (hub/store/fleet-store.ts unseenAttempts). */
  attempts: z.array(Attempt).max(STATUS_LIMITS.attempts),
  /** The head the agent refuses to apply (signature, ancestry, validation, policy), and why; absent or null when none. */
  refused: Refusal.nullable().optional(),
  /** When the agent retries a revision that failed on the host (ISO time); absent or null when no retry is scheduled. */
  nextRetryAt: z.string().max(40).nullable().optional(),
  updatedAt: z.string().max(40),
});
export type HostStatus = z.infer<typeof HostStatus>;

/** Worst first: the roll-up of a host, tag or fleet takes the worst member. */
export const syncSeverity: Record<SyncState, number> = {
  Failed: 5,
  Drifted: 4,
  Missing: 3,
  // A Git change on its way is expected work, less alarming than a missing resource.
  OutOfSync: 2.5,
  Pending: 2,
  InSync: 1,
  Ignored: 0,
};
