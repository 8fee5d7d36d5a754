// The rollout policy format (docs/rollouts.md): a `rollout.yaml` at the tree
// root or in a tag directory stages every commit that affects the hosts below
// it — ordered waves, a soak between them, a failure budget that halts, an
// optional UTC window. Bounded: the file is text a committer wrote.
import { z } from 'zod';
import { durationMs, durationPattern } from '../../shared/durations.ts';
export { ROLLOUT_FILE } from '../tree/tree-fs.ts';
const MAX_WAVES = 32;
const MAX_ENTRIES = 10_000;

const duration = z.union([z.string().regex(durationPattern, 'a duration like 30s, 10m, 1h30m'), z.number().nonnegative().max(30 * 86_400)]);
const name = z.string().min(1).max(253);

export const WaveSchema = z
  .strictObject({
    /** Shown in the API and the web view; default `wave N`. */
    name: z.string().min(1).max(64).optional(),
    /** Affected hosts with any of these tags (path tags and cross-cutting tags). */
    tags: z.array(z.string().min(1).max(1024)).min(1).max(MAX_ENTRIES).optional(),
    /** Affected hosts with these ids. */
    hosts: z.array(name).min(1).max(MAX_ENTRIES).optional(),
    /** This share of the affected hosts not taken by an earlier wave (rounded up). */
    percent: z.number().gt(0).max(100).optional(),
  })
  .refine((w) => [w.tags, w.hosts, w.percent].filter((x) => x !== undefined).length === 1, { message: 'a wave has exactly one of tags, hosts or percent' });
export type Wave = z.infer<typeof WaveSchema>;

const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

export const WindowSchema = z.strictObject({
  /** Days of the week (UTC) a wave may open; default every day. */
  days: z.array(z.enum(dayNames)).min(1).max(7).optional(),
  /** `HH:MM-HH:MM` (UTC); a wave opens only inside it (an end before the start spans midnight). Default all day. */
  hours: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'hours as HH:MM-HH:MM (UTC), e.g. 08:00-17:00')
    .optional(),
});
export type RolloutWindow = z.infer<typeof WindowSchema>;

export const FailureBudget = z.union([z.number().int().nonnegative().max(1_000_000), z.string().regex(/^(100|\d{1,2}(\.\d+)?)%$/, 'a count (2) or a percentage of the rollout\'s hosts ("10%")')]);
export type FailureBudget = z.infer<typeof FailureBudget>;

export const RolloutPolicySchema = z.strictObject({
  waves: z.array(WaveSchema).min(1).max(MAX_WAVES),
  /** Wait after a wave is done before the next one opens. Default 0. */
  soak: duration.optional(),
  /** Hosts failed or rolled back that halt the rollout when exceeded. Default 0: the first failure halts. */
  failureBudget: FailureBudget.optional(),
  window: WindowSchema.optional(),
  /** A wave not done after this long is closed, its stragglers counted failed. Default: no timeout. */
  waveTimeout: duration.optional(),
  /** What a halted rollout does: hold every host where it is, or return the updated ones to the previous revision. */
  onHalt: z.enum(['hold', 'rollback']).optional(),
});
export type RolloutPolicyFile = z.infer<typeof RolloutPolicySchema>;

/** The policy with its defaults filled in and durations in milliseconds: what the hub stores with a rollout. */
export interface RolloutPolicy {
  waves: Wave[];
  soakMs: number;
  failureBudget: FailureBudget;
  window: RolloutWindow | null;
  waveTimeoutMs: number | null;
  onHalt: 'hold' | 'rollback';
}

export function normalizePolicy(p: RolloutPolicyFile): RolloutPolicy {
  return {
    waves: p.waves,
    soakMs: p.soak === undefined ? 0 : durationMs(p.soak),
    failureBudget: p.failureBudget ?? 0,
    window: p.window ?? null,
    waveTimeoutMs: p.waveTimeout === undefined ? null : durationMs(p.waveTimeout),
    onHalt: p.onHalt ?? 'hold',
  };
}

/** The number of failed hosts a rollout of `hosts` hosts tolerates. */
export function budgetCount(budget: FailureBudget, hosts: number): number {
  if (typeof budget === 'number') return budget;
  return Math.floor((Number(budget.slice(0, -1)) / 100) * hosts);
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

/** Whether a wave may open at `at` (UTC). */
export function insideWindow(window: RolloutWindow | null, at: Date): boolean {
  if (!window) return true;
  if (window.days && !window.days.includes(dayNames[at.getUTCDay()]!)) return false;
  if (!window.hours) return true;
  const [from, to] = window.hours.split('-').map(minutesOf) as [number, number];
  const now = at.getUTCHours() * 60 + at.getUTCMinutes();
  return from <= to ? now >= from && now < to : now >= from || now < to;
}
