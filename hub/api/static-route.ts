// The web view's mount point: when hub/web/dist exists, its files are served
// at `/` (index.html for any other non-API path, so client-side routes work).
// Paths are confined to that directory.
import type { FastifyInstance } from 'fastify';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export function registerStaticRoute(app: FastifyInstance, webRoot: string): void {
  const root = normalize(webRoot + sep);
  app.get('/*', async (req, reply) => {
    let path: string;
    try {
      path = decodeURIComponent((req.url.split('?')[0] ?? '/').slice(1));
    } catch {
      return reply.code(400).send({ error: { code: 'INVALID_VALUE', message: 'malformed path' } });
    }
    let file = normalize(join(root, path));
    if (!file.startsWith(root)) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'not found' } });
    const isFile = await stat(file).then((s) => s.isFile(), () => false);
    if (!isFile) file = join(root, 'index.html');
    try {
      const body = await readFile(file);
      reply.header('content-type', types[extname(file)] ?? 'application/octet-stream');
      reply.header('x-content-type-options', 'nosniff');
      return reply.send(body);
    } catch {
      return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'not found' } });
    }
  });
}
