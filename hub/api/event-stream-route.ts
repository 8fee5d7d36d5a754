// GET /api/v1/events: Server-Sent Events for the web view. Each `change`
// event carries the summaries of hosts that changed since the last one (at most
// four a second), the new head when it moved, and the fresh fleet summary.
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.ts';

export function registerEventStreamRoute(app: FastifyInstance, ctx: ApiContext): void {
  // No automatic HEAD twin: a hijacked stream never ends, so a HEAD would hold a subscription forever.
  app.get('/api/v1/events', { config: { access: 'viewer' }, exposeHeadRoute: false }, (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('summary', ctx.index.summary());
    const unsubscribe = ctx.feed.subscribe((batch) => send('change', { ...batch, summary: ctx.index.summary() }));
    // A comment line now and then keeps proxies from closing an idle stream.
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    req.raw.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  });
}
