// Mutating API (admin only): reconcile-now for a host, a tag or all; reset a
// host's credential so it can enroll again; re-read the repo head now.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { messageOf } from '../../shared/errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { ApiContext } from './context.ts';
import { sendError } from './context.ts';

const ReconcileBody = z.union([
  z.strictObject({ host: z.string().min(1).max(253), reason: z.string().max(500).optional() }),
  z.strictObject({ tag: z.string().min(1).max(1024), reason: z.string().max(500).optional() }),
  z.strictObject({ all: z.literal(true), reason: z.string().max(500).optional() }),
]);

export function registerActionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/v1/reconcile', { config: { access: 'admin' } }, (req, reply) => {
    const body = ReconcileBody.safeParse(req.body ?? {});
    if (!body.success) return sendError(reply, 400, 'INVALID_VALUE', 'body must be one of {"host": id}, {"tag": tag}, {"all": true}, with an optional "reason"');
    const b = body.data;
    let hosts: string[];
    let what: string;
    if ('host' in b) {
      if (!ctx.index.get(b.host)) return sendError(reply, 404, 'NOT_FOUND', `no host ${b.host}`);
      hosts = [b.host];
      what = `host ${b.host}`;
    } else if ('tag' in b) {
      hosts = ctx.index.idsInTag(b.tag);
      if (hosts.length === 0) return sendError(reply, 404, 'NOT_FOUND', `no hosts in tag ${b.tag}`);
      what = `tag ${b.tag}`;
    } else {
      hosts = ctx.index.idsInTag('');
      what = 'all hosts';
    }
    const outcome = ctx.reconciler.request(hosts, b.reason ?? `requested through the API for ${what}`, 'api');
    recordAudit(ctx, req, { action: 'reconcile', target: what, detail: `${outcome.reached.length} of ${hosts.length} reached${b.reason ? `; reason: ${b.reason}` : ''}` });
    return outcome;
  });

  app.post<{ Params: { id: string } }>('/api/v1/hosts/:id/reconcile', { config: { access: 'admin' } }, (req, reply) => {
    if (!ctx.index.get(req.params.id)) return sendError(reply, 404, 'NOT_FOUND', `no host ${req.params.id}`);
    const outcome = ctx.reconciler.request([req.params.id], `requested through the API for host ${req.params.id}`, 'api');
    recordAudit(ctx, req, { action: 'reconcile', target: `host ${req.params.id}`, detail: `${outcome.reached.length} of 1 reached` });
    return outcome;
  });

  app.delete<{ Params: { id: string } }>('/api/v1/hosts/:id/credential', { config: { access: 'admin' } }, async (req, reply) => {
    const record = await ctx.store.getHost(req.params.id);
    if (!record) return sendError(reply, 404, 'NOT_FOUND', `no host ${req.params.id}`);
    await ctx.store.resetCredential(record.id);
    ctx.index.credentialReset(record.id);
    ctx.logger.warn({ host: record.id }, 'host credential reset: the next connection with the enrollment token enrolls it again');
    recordAudit(ctx, req, { action: 'credential.reset', target: `host ${record.id}` });
    return { host: record.id, enrolled: false };
  });

  app.post('/api/v1/head/refresh', { config: { access: 'admin' } }, async (req, reply) => {
    if (!ctx.tracker) return sendError(reply, 409, 'CONFIG_INVALID', 'the hub has no repo configured');
    try {
      const head = await ctx.tracker.refresh();
      recordAudit(ctx, req, { action: 'head.refresh', target: 'fleet repo', detail: `head ${head.revision.slice(0, 12)}` });
      return { revision: head.revision, hosts: head.hosts.length, issues: head.issues };
    } catch (error) {
      recordAudit(ctx, req, { action: 'head.refresh', target: 'fleet repo', outcome: 'failed', detail: messageOf(error) });
      return sendError(reply, 502, 'GIT_FAILED', messageOf(error));
    }
  });
}
