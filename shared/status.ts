// The status model (PRODUCT.md §7). Zod schemas because status travels on the
// wire; a schema and its inferred type share one name.
import { z } from 'zod';

export const SyncState = z.enum(['InSync', 'Drifted', 'Missing', 'Pending', 'Failed', 'Ignored']);
export type SyncState = z.infer<typeof SyncState>;

export const HealthState = z.enum(['Healthy', 'Progressing', 'Degraded', 'Unknown']);
export type HealthState = z.infer<typeof HealthState>;

export const FieldDiff = z.object({
  field: z.string().max(200),
  desired: z.unknown(),
  live: z.unknown(),
});
export type FieldDiff = z.infer<typeof FieldDiff>;

export const ResourceStatus = z.object({
  id: z.string().max(1024),
  sync: SyncState,
  health: HealthState,
  diff: z.array(FieldDiff).max(100),
  message: z.string().max(4096).optional(),
  source: z.string().max(1024).optional(),
});
export type ResourceStatus = z.infer<typeof ResourceStatus>;

export const ConditionType = z.enum(['Ready', 'Reconciling', 'Stalled']);
export type ConditionType = z.infer<typeof ConditionType>;

export const Condition = z.object({
  type: ConditionType,
  status: z.boolean(),
  reason: z.string().max(100),
  message: z.string().max(4096),
  lastTransitionTime: z.string().max(40),
});
export type Condition = z.infer<typeof Condition>;

export const Trigger = z.enum(['startup', 'poll', 'hub', 'docker-event', 'drift-check', 'manual', 'rollback']);
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
  intended: z.array(z.string().max(1024)).max(1000),
  /** Steps that put back what was changed on the host by hand. */
  driftCorrected: z.array(z.string().max(1024)).max(1000),
  reason: z.string().max(100).optional(),
  message: z.string().max(4096).optional(),
});
export type Attempt = z.infer<typeof Attempt>;

export const HostStatus = z.object({
  host: z.string().max(253),
  place: z.string().max(1024),
  tags: z.array(z.string().max(1024)).max(256),
  conditions: z.array(Condition).max(3),
  lastAppliedRevision: z.string().max(64).nullable(),
  lastAttemptedRevision: z.string().max(64).nullable(),
  resources: z.array(ResourceStatus).max(5000),
  attempts: z.array(Attempt).max(50),
  updatedAt: z.string().max(40),
});
export type HostStatus = z.infer<typeof HostStatus>;

/** Worst first: the roll-up of a host, tag or fleet takes the worst member. */
export const syncSeverity: Record<SyncState, number> = {
  Failed: 5,
  Drifted: 4,
  Missing: 3,
  Pending: 2,
  InSync: 1,
  Ignored: 0,
};
