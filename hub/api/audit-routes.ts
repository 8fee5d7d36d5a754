// GET /api/v1/audit (admin): the audit log, newest first, in pages.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from './context.ts';
import { sendError } from './context.ts';

export const AUDIT_PAGE_MAX = 500;

const Query = z.strictObject({
  limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).optional(),
  before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

export function registerAuditRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/audit', { config: { access: 'admin' } }, async (req, reply) => {
    const q = Query.safeParse(req.query ?? {});
    if (!q.success) return sendError(reply, 400, 'INVALID_VALUE', `query: limit (1–${AUDIT_PAGE_MAX}) and before (an entry id) only`);
    const limit = q.data.limit ?? 100;
    // One more than asked tells whether an older page exists.
    const rows = await ctx.store.listAudit({ before: q.data.before, limit: limit + 1 });
    const entries = rows.slice(0, limit);
    return { entries, next: rows.length > limit ? entries[entries.length - 1]!.id : null };
  });
}
