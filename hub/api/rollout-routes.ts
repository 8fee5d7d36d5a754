// Staged rollouts (docs/rollouts.md): list and show them (viewer), pause,
// resume, promote and abort them (admin). Each action is recorded in the
// rollout's history with the token that did it and the time, and in the
// hub's audit log (with the address it came from).
import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../audit/audit-log.ts';
import { adminActions } from '../rollout/rollout-engine.ts';
import type { AdminAction } from '../rollout/rollout-engine.ts';
import type { ApiContext } from './context.ts';
import { sendError } from './context.ts';

const MAX_ID = 300;

export function registerRolloutRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/rollouts', { config: { access: 'viewer' } }, () => ({ rollouts: ctx.rollouts?.list() ?? [] }));

  app.get<{ Params: { id: string } }>('/api/v1/rollouts/:id', { config: { access: 'viewer' } }, (req, reply) => {
    const found = req.params.id.length <= MAX_ID ? ctx.rollouts?.get(req.params.id) : null;
    if (!found) return sendError(reply, 404, 'NOT_FOUND', `no rollout ${req.params.id.slice(0, MAX_ID)}`);
    return found;
  });

  app.post<{ Params: { id: string; action: string } }>('/api/v1/rollouts/:id/:action', { config: { access: 'admin' } }, async (req, reply) => {
    const { id, action } = req.params;
    if (!(adminActions as readonly string[]).includes(action)) return sendError(reply, 404, 'NOT_FOUND', `no rollout action "${action.slice(0, 40)}"; one of ${adminActions.join(', ')}`);
    if (!ctx.rollouts) return sendError(reply, 409, 'CONFIG_INVALID', 'this hub runs no rollouts (no repo configured)');
    if (id.length > MAX_ID) return sendError(reply, 404, 'NOT_FOUND', `no rollout ${id.slice(0, MAX_ID)}`);
    // The token's name (the hub's admin token is `admin`). On a cluster a follower hands the action to the leader's
    // coordinator; only the replica that took the request records it in the audit log.
    const by = ctx.auth.roleOf(req.headers.authorization) ?? 'admin';
    const result = await ctx.rollouts.act(id, action as AdminAction, by);
    recordAudit(ctx, req, { action: `rollout.${action}`, target: `rollout ${id}`, outcome: result.ok ? 'ok' : 'refused', ...(result.ok ? { detail: `now ${result.rollout.state}` } : { detail: result.why }) });
    if (!result.ok) return sendError(reply, result.status, result.status === 404 ? 'NOT_FOUND' : result.status === 503 ? 'HUB_UNREACHABLE' : 'INVALID_VALUE', result.why);
    return { rollout: result.rollout };
  });
}
