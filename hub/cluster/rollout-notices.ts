// The notices replicas send each other about staged rollouts (docs/rollouts.md,
// On a cluster): the leader's coordinator says its rollouts changed (the others
// reload them from the database and release to their own agents), a replica
// asks the leader to say so, and an admin action taken on any replica is
// handed to the leader and answered. Bounded and checked like every notice.
import { adminActions } from '../rollout/rollout-engine.ts';
import type { AdminAction } from '../rollout/rollout-engine.ts';

export type RolloutNotice =
  /** The leader stored a change (`v` counts them) and decided the rollouts of head `revision` (null: no head yet). */
  | { k: 'rollouts'; from: string; revision: string | null; v: number }
  /** A replica (just started) asks the leader for a `rollouts` notice. */
  | { k: 'rollouts?'; from: string }
  /** An admin action asked of replica `from`, for the leader to take. */
  | { k: 'rollout-act'; from: string; req: string; id: string; action: AdminAction; by: string }
  /** The leader's answer to `rollout-act` request `req` of replica `to`. */
  | { k: 'rollout-acted'; to: string; req: string; ok: boolean; status: 404 | 409; why: string };

const isString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

export function parseRolloutNotice(v: Record<string, unknown>): RolloutNotice | null {
  if (v.k === 'rollouts' && isString(v.from, 64) && (v.revision === null || isString(v.revision, 128)) && Number.isSafeInteger(v.v)) {
    return { k: 'rollouts', from: v.from, revision: v.revision, v: v.v as number };
  }
  if (v.k === 'rollouts?' && isString(v.from, 64)) return { k: 'rollouts?', from: v.from };
  if (v.k === 'rollout-act' && isString(v.from, 64) && isString(v.req, 64) && isString(v.id, 300) && isString(v.by, 200) && (adminActions as readonly unknown[]).includes(v.action)) {
    return { k: 'rollout-act', from: v.from, req: v.req, id: v.id, action: v.action as AdminAction, by: v.by };
  }
  if (v.k === 'rollout-acted' && isString(v.to, 64) && isString(v.req, 64) && typeof v.ok === 'boolean' && (v.status === 404 || v.status === 409) && isString(v.why, 1000)) {
    return { k: 'rollout-acted', to: v.to, req: v.req, ok: v.ok, status: v.status, why: v.why };
  }
  return null;
}
