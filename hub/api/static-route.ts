// The web view's mount point: when hub/web/dist exists, its files are served
// at `/` (index.html for any other path, so client-side routes work). Paths are
// confined to that directory. Paths that belong to the hub itself (/api/…,
// /metrics, /healthz, /agent) in any spelling the router did not match
// (other case, encoded, doubled slashes, dot segments, trailing slash, `;x`)
// answer a JSON 404, never the page with 200. Source maps are never served.
import type { FastifyInstance } from 'fastify';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { sendError } from './context.ts';

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
};

/** First path segments the web view never owns. */
const hubPrefixes = new Set(['api', 'metrics', 'healthz', 'agent']);

/**
 * The segments of a request path as a server that decodes, folds case and
 * resolves dot segments would see them, or null when it cannot be decoded.
 */
export function canonicalSegments(rawPath: string): string[] | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  const out: string[] = [];
  for (const segment of decoded.replaceAll('\\', '/').split('/')) {
    // `;x` is a path parameter to some servers and proxies: /api;x is still /api.
    const s = segment.split(';')[0]!.toLowerCase();
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  return out;
}

/** True when the path, however spelled, is under one of the hub's own prefixes. */
export function isHubPath(rawPath: string): boolean {
  const segments = canonicalSegments(rawPath);
  if (segments === null) return true;
  // The leading word only: trailing bytes a layer might trim (/metrics%00, /api%20, /api.json) do not make it the web view's.
  const word = /^[a-z0-9_-]*/.exec(segments[0] ?? '')![0];
  return hubPrefixes.has(word);
}

export function registerStaticRoute(app: FastifyInstance, webRoot: string): void {
  const root = normalize(webRoot + sep);
  app.get('/*', { config: { access: 'public' } }, async (req, reply) => {
    const rawPath = req.url.split('?')[0] ?? '/';
    if (canonicalSegments(rawPath) === null) return sendError(reply, 400, 'INVALID_VALUE', 'malformed path');
    if (isHubPath(rawPath)) return sendError(reply, 404, 'NOT_FOUND', `no route ${req.method} ${rawPath}`);
    const path = decodeURIComponent(rawPath.slice(1));
    let file = normalize(join(root, path));
    if (!file.startsWith(root) || extname(file) === '.map') return sendError(reply, 404, 'NOT_FOUND', 'not found');
    const isFile = await stat(file).then((s) => s.isFile(), () => false);
    if (!isFile) file = join(root, 'index.html');
    try {
      const body = await readFile(file);
      reply.header('content-type', types[extname(file)] ?? 'application/octet-stream');
      return reply.send(body);
    } catch {
      return sendError(reply, 404, 'NOT_FOUND', 'not found');
    }
  });
}
