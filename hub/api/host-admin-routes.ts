// Host removal (admin only): DELETE /api/v1/hosts/{id} closes the host's
// connection, then removes it with its status, facts, events, attempts and
// credential from the store and the fleet index. An agent still running with
// a valid enrollment token enrolls again; revoke its token to keep it out.
import type { FastifyInstance } from 'fastify';
import type { AgentGateway } from '../gateway/agent-gateway.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { ApiContext } from './context.ts';
import { sendError } from './context.ts';

export function registerHostAdminRoutes(app: FastifyInstance, ctx: ApiContext, gateway: AgentGateway): void {
  app.delete<{ Params: { id: string } }>('/api/v1/hosts/:id', { config: { access: 'admin' } }, async (req, reply) => {
    const id = req.params.id;
    const record = await ctx.store.getHost(id);
    if (!record) return sendError(reply, 404, 'NOT_FOUND', `no host ${id.slice(0, 253)} in the store`);
    // First the connection, so no write of its session lands after the delete.
    const disconnected = gateway.disconnect(id, `host ${id} was deleted by an admin`);
    const deleted = await ctx.store.deleteHost(id);
    ctx.index.remove(id);
    ctx.logger.warn({ host: id, disconnected }, 'host deleted with its status, facts, events, attempts and credential');
    recordAudit(ctx, req, { action: 'host.delete', target: `host ${id}`, detail: disconnected ? 'its agent was connected and was disconnected' : 'its agent was not connected' });
    return { host: id, deleted, disconnected };
  });
}
