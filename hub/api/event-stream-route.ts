// GET /api/v1/events: Server-Sent Events for the web view. Each `change`
// event carries the summaries of hosts that changed since the last one (at most
// four a second), the new head when it moved, and the fresh fleet summary.
//
// Back-pressure: a client that does not read is closed once more than
// SSE_LIMITS.bufferedBytes wait in the hub for it (the web view reconnects and
// starts again from a fresh `summary`), so a stalled reader costs the hub at
// most that much memory; the number of open streams is bounded too.
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.ts';
import { sendError } from './context.ts';

export const SSE_LIMITS = {
  /** Bytes the hub buffers for one stream before it closes it. */
  bufferedBytes: 1024 * 1024,
  /** Open streams per hub; more are refused with 503 STREAM_LIMIT. */
  clients: 100,
} as const;

export function registerEventStreamRoute(app: FastifyInstance, ctx: ApiContext): void {
  let openStreams = 0;
  // No automatic HEAD twin: a hijacked stream never ends, so a HEAD would hold a subscription forever.
  app.get('/api/v1/events', { config: { access: 'viewer' }, exposeHeadRoute: false }, (req, reply) => {
    if (openStreams >= SSE_LIMITS.clients) {
      ctx.metrics.sseDropped.inc({ reason: 'full' });
      return sendError(reply, 503, 'STREAM_LIMIT', `the hub already serves ${SSE_LIMITS.clients} live-update streams; retry later`);
    }
    openStreams++;
    ctx.metrics.sseClients.inc();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let closed = false;
    const write = (chunk: string) => {
      if (closed) return;
      // What the socket has not taken yet stays in this process: past the bound, the client is not reading.
      if (res.writableLength > SSE_LIMITS.bufferedBytes) {
        closed = true;
        ctx.metrics.sseDropped.inc({ reason: 'slow' });
        ctx.logger.warn({ remote: req.ip, buffered: res.writableLength }, `live-update stream closed: over ${SSE_LIMITS.bufferedBytes} bytes unread`);
        res.destroy();
        return;
      }
      res.write(chunk);
    };
    const send = (event: string, data: unknown) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('summary', ctx.index.summary());
    const unsubscribe = ctx.feed.subscribe((batch) => send('change', { ...batch, summary: ctx.index.summary() }));
    // A comment line now and then keeps proxies from closing an idle stream.
    const keepAlive = setInterval(() => write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    res.on('close', () => {
      closed = true;
      openStreams--;
      ctx.metrics.sseClients.dec();
      clearInterval(keepAlive);
      unsubscribe();
    });
  });
}
