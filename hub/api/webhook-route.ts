// POST /api/v1/hooks/git: authenticated by the provider's signature or token
// over the raw body (not by an API token), so it has its own body parser.
// Public by route (the signature is the authentication). Answers: 200 acted,
// 200 {pong} to GitHub's ping, 202 ignored (other events, other refs),
// 401/400 refused, 409 a replay, 413 a body over webhookBodyLimit.
import type { FastifyInstance } from 'fastify';
import { messageOf } from '../../shared/errors.ts';
import { DeliveryLog } from '../webhook/delivery-log.ts';
import { WebhookRefusal, detectProvider, refMatches, verifyWebhook } from '../webhook/verify-webhook.ts';
import type { PushNotice } from '../webhook/verify-webhook.ts';
import type { PushHandler } from '../webhook/push-handler.ts';
import type { ApiContext } from './context.ts';
import { sendError } from './context.ts';

export const WEBHOOK_PATH = '/api/v1/hooks/git';
/**
 * Push payloads are small (GitHub and GitLab list at most 20 commits); 2 MiB
 * leaves room for form encoding. A bigger one is refused with 413 and the hub
 * falls back to its poll.
 */
export const webhookBodyLimit = 2 * 1024 * 1024;

export function registerWebhookRoute(app: FastifyInstance, ctx: ApiContext, pushes: PushHandler): void {
  // Per hub process: replicas behind a load balancer each keep their own (docs/security.md).
  const deliveries = new DeliveryLog();
  void app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: webhookBodyLimit }, (_req, body, next) => next(null, body));
    scope.post(WEBHOOK_PATH, { config: { access: 'public' } }, async (req, reply) => {
      const provider = detectProvider(req.headers);
      if (ctx.webhookSecret === undefined) {
        ctx.metrics.webhooks.inc({ provider, outcome: 'disabled' });
        return sendError(reply, 404, 'NOT_FOUND', 'webhooks are off: set webhookSecret in the hub configuration');
      }
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let notice: PushNotice;
      try {
        notice = verifyWebhook(req.headers, body, ctx.webhookSecret);
      } catch (error) {
        ctx.metrics.webhooks.inc({ provider, outcome: 'refused' });
        ctx.logger.warn({ provider, remote: req.ip }, `webhook refused: ${messageOf(error)}`);
        return sendError(reply, error instanceof WebhookRefusal ? error.status : 400, 'WEBHOOK_INVALID', messageOf(error));
      }
      if (deliveries.replayed(notice.deliveryKeys)) {
        ctx.metrics.webhooks.inc({ provider, outcome: 'replayed' });
        ctx.logger.warn({ provider, remote: req.ip }, 'webhook refused: a delivery already received');
        return sendError(reply, 409, 'WEBHOOK_REPLAYED', `${provider} webhook: this delivery was already received (same delivery id or signed body); nothing done`);
      }
      if (provider === 'github' && notice.event === 'ping') {
        ctx.metrics.webhooks.inc({ provider, outcome: 'ping' });
        return { pong: true };
      }
      if (notice.event !== 'push') {
        ctx.metrics.webhooks.inc({ provider, outcome: 'ignored' });
        return reply.code(202).send({ ignored: `${notice.event} event` });
      }
      if (!refMatches(notice.ref, ctx.ref)) {
        ctx.metrics.webhooks.inc({ provider, outcome: 'ignored' });
        return reply.code(202).send({ ignored: `push to ${notice.ref}, the fleet follows ${ctx.ref ?? 'a branch'}` });
      }
      ctx.metrics.webhooks.inc({ provider, outcome: 'accepted' });
      return pushes.handle(notice);
    });
    done();
  });
}
