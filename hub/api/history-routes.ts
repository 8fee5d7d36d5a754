// GET /api/v1/history (viewer): the fleet's (or a tag's) hosts by sync state
// over the last day (1-minute points) or week (1-hour points), oldest first.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { hostSyncStates } from '../fleet/rollup.ts';
import { historyResolutions } from '../store/fleet-records.ts';
import type { ApiContext } from './context.ts';
import { sendError } from './context.ts';

const ranges = {
  day: { resolution: '1m', spanMs: 24 * 3_600_000 },
  week: { resolution: '1h', spanMs: 7 * 24 * 3_600_000 },
} as const;

const Query = z.strictObject({
  range: z.enum(['day', 'week']).optional(),
  tag: z.string().max(1024).optional(),
});

export function registerHistoryRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/history', { config: { access: 'viewer' } }, async (req, reply) => {
    const q = Query.safeParse(req.query ?? {});
    if (!q.success) return sendError(reply, 400, 'INVALID_VALUE', 'query: range (day or week) and tag only');
    const range = ranges[q.data.range ?? 'day'];
    const now = Date.now();
    const from = new Date(now - range.spanMs).toISOString();
    const points = await ctx.store.history(range.resolution, q.data.tag ?? '', from);
    return {
      range: q.data.range ?? 'day',
      tag: q.data.tag ?? null,
      resolution: range.resolution,
      bucketMs: historyResolutions[range.resolution].bucketMs,
      from,
      to: new Date(now).toISOString(),
      states: hostSyncStates,
      points,
    };
  });
}
