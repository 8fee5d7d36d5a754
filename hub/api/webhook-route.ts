// POST /api/v1/hooks/git: authenticated by the provider's signature or token
// over the raw body (not by an API token), so it has its own body parser.
import type { FastifyInstance } from 'fastify';
import { isGitfleetError, messageOf } from '../../shared/errors.ts';
import { detectProvider, refMatches, verifyWebhook } from '../webhook/verify-webhook.ts';
import type { PushHandler } from '../webhook/push-handler.ts';
import type { ApiContext } from './context.ts';
import { sendError } from './context.ts';

export const WEBHOOK_PATH = '/api/v1/hooks/git';

export function registerWebhookRoute(app: FastifyInstance, ctx: ApiContext, pushes: PushHandler): void {
  void app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 8 * 1024 * 1024 }, (_req, body, next) => next(null, body));
    scope.post(WEBHOOK_PATH, { config: { access: 'public' } }, async (req, reply) => {
      const provider = detectProvider(req.headers);
      if (ctx.webhookSecret === undefined) {
        ctx.metrics.webhooks.inc({ provider, outcome: 'disabled' });
        return sendError(reply, 404, 'NOT_FOUND', 'webhooks are off: set webhookSecret in the hub configuration');
      }
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let notice;
      try {
        notice = verifyWebhook(req.headers, body, ctx.webhookSecret);
      } catch (error) {
        ctx.metrics.webhooks.inc({ provider, outcome: 'refused' });
        ctx.logger.warn({ provider, remote: req.ip }, `webhook refused: ${messageOf(error)}`);
        return sendError(reply, isGitfleetError(error, 'WEBHOOK_INVALID') && /signature/.test(error.message) ? 401 : 400, 'WEBHOOK_INVALID', messageOf(error));
      }
      if (notice.event !== 'push') {
        ctx.metrics.webhooks.inc({ provider, outcome: 'ignored' });
        return reply.code(202).send({ ignored: `${notice.event} event` });
      }
      if (ctx.ref !== undefined && !refMatches(notice.ref, ctx.ref)) {
        ctx.metrics.webhooks.inc({ provider, outcome: 'ignored' });
        return reply.code(202).send({ ignored: `push to ${notice.ref}, the fleet follows ${ctx.ref}` });
      }
      ctx.metrics.webhooks.inc({ provider, outcome: 'accepted' });
      return pushes.handle(notice);
    });
    done();
  });
}
