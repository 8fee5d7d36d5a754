// GET /api/v1/commits/:rev/impact (viewer): the impact preview of a head the
// hub saw, against the head before it (docs/api.md). Computed in the
// background when the head arrives (hub/git/impact-cache.ts): 202 while it
// runs, then the impact with its host list paged.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from './context.ts';
import { sendError } from './context.ts';

const Rev = z.string().regex(/^[0-9a-f]{7,40}$/, 'a commit id: 7 to 40 lowercase hex digits');
const ImpactQuery = z.strictObject({
  offset: z.coerce.number().int().min(0).max(1_000_000).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** Affected hosts per response unless ?limit= says otherwise. */
export const DEFAULT_IMPACT_HOSTS = 200;

export function registerImpactRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { rev: string } }>('/api/v1/commits/:rev/impact', { config: { access: 'viewer' } }, (req, reply) => {
    const rev = Rev.safeParse(req.params.rev);
    if (!rev.success) return sendError(reply, 400, 'INVALID_VALUE', `rev: ${rev.error.issues[0]!.message}`);
    const q = ImpactQuery.safeParse(req.query);
    if (!q.success) {
      const i = q.error.issues[0]!;
      return sendError(reply, 400, 'INVALID_VALUE', i.code === 'unrecognized_keys' ? `unknown query parameter ${i.keys.join(', ')}` : `${i.path.join('.')}: ${i.message}`);
    }
    const entry = ctx.tracker?.impacts.get(rev.data);
    if (!entry) return sendError(reply, 404, 'NOT_FOUND', `no impact for ${rev.data}: the hub computes one for each head it sees (the last few are kept)`);
    const { impact, ...rest } = entry;
    if (!impact) return reply.code(entry.status === 'computing' ? 202 : 200).send({ ...rest, head: ctx.tracker?.head?.revision ?? null });
    const offset = q.data.offset ?? 0;
    const limit = q.data.limit ?? DEFAULT_IMPACT_HOSTS;
    return {
      ...rest,
      head: ctx.tracker?.head?.revision ?? null,
      impact: { ...impact, hosts: impact.hosts.slice(offset, offset + limit) },
      page: { offset, limit, hosts: impact.hosts.length },
    };
  });
}
