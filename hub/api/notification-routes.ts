// GET /api/v1/notifications: how notification sinks and the commit status
// write-back are doing (delivered, retried, failed, dropped, queued, the
// last error), for the web view's overview block. Never a URL or a secret.
import type { FastifyInstance } from 'fastify';
import type { Notifications } from '../notify/notifications.ts';

export function registerNotificationRoutes(app: FastifyInstance, notifications: Notifications | null): void {
  app.get('/api/v1/notifications', { config: { access: 'viewer' } }, () => notifications?.view() ?? { enabled: false, queued: 0, sinks: [], commitStatus: null });
}
