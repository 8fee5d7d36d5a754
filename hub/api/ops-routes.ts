// /healthz (open, for load balancers and systemd) and /metrics (Prometheus
// text format; needs a viewer or admin token like the API).
import type { FastifyInstance } from 'fastify';
import { metricsText } from '../fleet-gauges.ts';
import type { ApiContext } from './context.ts';

export function registerOpsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/healthz', { config: { access: 'public' } }, () => ({
    ok: true,
    uptimeSeconds: Math.round((Date.now() - ctx.startedAt.getTime()) / 1000),
    head: ctx.tracker?.head?.revision ?? null,
    repoError: ctx.tracker?.lastError ?? null,
  }));

  app.get('/metrics', { config: { access: 'viewer' } }, async (_req, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return metricsText(ctx.metrics, ctx.index);
  });
}
