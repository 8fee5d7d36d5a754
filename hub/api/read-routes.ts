// Read-only API (viewer or admin): fleet summary, hosts, one host, tag tree.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sortKeys, stateFilters } from '../fleet/fleet-index.ts';
import type { StateFilter } from '../fleet/fleet-index.ts';
import type { ApiContext } from './context.ts';
import { sendError } from './context.ts';

const HostsQuery = z.strictObject({
  tag: z.string().max(1024).optional(),
  state: z
    .string()
    .max(512)
    .transform((s) => s.split(',').filter((x) => x !== ''))
    .pipe(z.array(z.enum(stateFilters as [string, ...string[]])))
    .optional(),
  q: z.string().max(256).optional(),
  sort: z.enum(sortKeys).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  offset: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

const LimitQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).optional() });

function firstIssue(error: z.ZodError): string {
  const i = error.issues[0]!;
  if (i.code === 'unrecognized_keys') return `unknown query parameter ${i.keys.join(', ')}`;
  return `${i.path.join('.') || 'query'}: ${i.message}`;
}

export function registerReadRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/summary', { config: { access: 'viewer' } }, () => ctx.index.summary());

  app.get('/api/v1/hosts', { config: { access: 'viewer' } }, (req, reply) => {
    const q = HostsQuery.safeParse(req.query);
    if (!q.success) return sendError(reply, 400, 'INVALID_VALUE', firstIssue(q.error));
    return ctx.index.query({ ...q.data, state: q.data.state as StateFilter[] | undefined });
  });

  app.get<{ Params: { id: string } }>('/api/v1/hosts/:id', { config: { access: 'viewer' } }, async (req, reply) => {
    const summary = ctx.index.get(req.params.id);
    if (!summary) return sendError(reply, 404, 'NOT_FOUND', `no host ${req.params.id}`);
    const record = await ctx.store.getHost(req.params.id);
    const [events, attempts] = record ? await Promise.all([ctx.store.events(record.id, 100), ctx.store.attempts(record.id, 50)]) : [[], []];
    return {
      summary,
      enrolledAt: record?.enrolledAt ?? null,
      facts: record?.facts ?? null,
      droppedEvents: record?.droppedEvents ?? 0,
      status: record?.status ?? null,
      attempts,
      events,
      // Additive: the active rollout holding this host (docs/api.md), so "behind the head" can say why.
      rollout: ctx.rollouts?.holdOf(summary.id) ?? null,
      // Additive: an invalid rollout.yaml above the host holds it where it is until fixed.
      rolloutPolicyInvalid: ctx.rollouts?.invalidPolicyOf(summary.id) ?? null,
    };
  });

  app.get<{ Params: { id: string } }>('/api/v1/hosts/:id/events', { config: { access: 'viewer' } }, async (req, reply) => {
    const q = LimitQuery.safeParse(req.query);
    if (!q.success) return sendError(reply, 400, 'INVALID_VALUE', firstIssue(q.error));
    if (!ctx.index.get(req.params.id)) return sendError(reply, 404, 'NOT_FOUND', `no host ${req.params.id}`);
    return { events: await ctx.store.events(req.params.id, q.data.limit ?? 100) };
  });

  // crossTags: which roots of the tree are cross-cutting tags (directories under `tags/`), so a view can list them apart.
  app.get('/api/v1/tags', { config: { access: 'viewer' } }, () => ({
    tags: ctx.index.tagTree(),
    crossTags: [...new Set(ctx.index.head?.hosts.flatMap((h) => h.crossTags) ?? [])].sort(),
  }));

  app.get('/api/v1/whoami', { config: { access: 'viewer' } }, (req) => ({ role: ctx.auth.roleOf(req.headers.authorization), commitUrl: ctx.commitUrl ?? null }));
}
