// Authorization on the matched route, default deny (docs/security.md,
// "Authorization"), against a real hub process over real sockets. The routes
// come from the hub itself (RunningHub.routes), so a route added later is
// checked too, and a route left without an access marking fails here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { loadHubConfig } from '../../hub/config.ts';
import { startHub } from '../../hub/main.ts';
import type { RouteEntry } from '../../hub/auth/access-control.ts';
import { ADMIN, ENROLL, VIEWER, WEBHOOK_SECRET, freePort, removeDir, startHubProcess, tempDir } from '../integration/hub-harness.ts';
import type { HubProcess } from '../integration/hub-harness.ts';
import { inParallel, loopbackAddress, rawRequest } from './raw-http.ts';
import type { RawResponse } from './raw-http.ts';

const WRONG = 'wrong-token-0123456789abcdef';
let hub: HubProcess;
let routes: RouteEntry[];
const dirs: string[] = [];

// Each request from its own loopback address: the many wrong tokens sent here must meet 401, not the per-address throttle.
let sent = 0;
function send(o: { method?: string; path: string; token?: string; body?: string }): Promise<RawResponse> {
  const n = sent++;
  return rawRequest(hub.port, {
    method: o.method ?? 'GET',
    path: o.path,
    headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(o.body !== undefined ? { body: o.body } : {}),
    localAddress: loopbackAddress(10 + (n >> 16), n & 0xffff),
  });
}

before(async () => {
  // The route list of the same code, from an in-process hub (a process cannot hand over objects).
  const listDir = tempDir('authz-routes');
  dirs.push(listDir);
  const env = {
    GITFLEET_HUB_LISTEN: `127.0.0.1:${await freePort()}`,
    GITFLEET_HUB_DATA_DIR: listDir,
    GITFLEET_HUB_ENROLLMENT_TOKEN: ENROLL,
    GITFLEET_HUB_ADMIN_TOKEN: ADMIN,
    GITFLEET_HUB_VIEWER_TOKEN: VIEWER,
    GITFLEET_HUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
  };
  const listing = await startHub({ config: loadHubConfig(undefined, env), logger: pino({ level: 'silent' }), repoView: null });
  routes = [...listing.routes];
  await listing.close();
  const dataDir = tempDir('authz');
  dirs.push(dataDir);
  hub = await startHubProcess({ dataDir });
});

after(async () => {
  await hub?.stop();
  for (const d of dirs) removeDir(d);
});

const key = (r: { method: string; url: string }) => `${r.method} ${r.url}`;
const protectedRoutes = () => routes.filter((r) => r.access !== 'public');
/** A concrete path for a route pattern. */
const concrete = (url: string) => url.replace(/:id\b/g, 'web-01');

/**
 * A refusal: 401/403 with the JSON error, a JSON 404, or a 400 (the JSON
 * error, or the HTTP layer's own for a request line it cannot parse, which
 * carries no route's data either).
 */
function assertRefused(res: RawResponse, what: string): void {
  assert.ok([400, 401, 403, 404].includes(res.status), `${what}: answered ${res.status} ${res.body.slice(0, 120)}`);
  if (res.status === 400) {
    assert.doesNotMatch(String(res.headers['content-type']), /html/, what);
    return;
  }
  assert.match(String(res.headers['content-type']), /^application\/json/, `${what}: ${res.status} is not the JSON error: ${res.body.slice(0, 120)}`);
  const body = JSON.parse(res.body) as { error?: { code?: string } };
  assert.equal(typeof body.error?.code, 'string', `${what}: ${res.body.slice(0, 120)}`);
}

test('the route list holds every route with an access; only /healthz, the web view and the webhook are public', () => {
  const expected: Array<[string, string, string]> = [
    ['GET', '/api/v1/summary', 'viewer'],
    ['GET', '/api/v1/hosts', 'viewer'],
    ['GET', '/api/v1/hosts/:id', 'viewer'],
    ['GET', '/api/v1/hosts/:id/events', 'viewer'],
    ['GET', '/api/v1/tags', 'viewer'],
    ['GET', '/api/v1/whoami', 'viewer'],
    ['GET', '/api/v1/events', 'viewer'],
    ['GET', '/metrics', 'viewer'],
    ['POST', '/api/v1/reconcile', 'admin'],
    ['POST', '/api/v1/hosts/:id/reconcile', 'admin'],
    ['DELETE', '/api/v1/hosts/:id/credential', 'admin'],
    ['POST', '/api/v1/head/refresh', 'admin'],
    ['GET', '/healthz', 'public'],
    ['POST', '/api/v1/hooks/git', 'public'],
    ['GET', '/*', 'public'],
  ];
  const byKey = new Map(routes.map((r) => [key(r), r.access]));
  for (const [method, url, access] of expected) {
    assert.equal(byKey.get(`${method} ${url}`), access, `${method} ${url}`);
    if (method === 'GET' && url !== '/api/v1/events') assert.equal(byKey.get(`HEAD ${url}`), access, `HEAD ${url} (fastify's automatic twin keeps the access)`);
  }
  for (const r of routes) assert.notEqual(r.access, null, `${key(r)} declares no access (config: { access: 'public' | 'viewer' | 'admin' })`);
  const publicOnes = routes.filter((r) => r.access === 'public').map(key).sort();
  assert.deepEqual(publicOnes, ['GET /*', 'GET /healthz', 'HEAD /*', 'HEAD /healthz', 'POST /api/v1/hooks/git']);
});

test('every protected route: no token and a wrong token 401, the viewer token 403 on admin routes, the right token passes', async () => {
  const checked = protectedRoutes();
  assert.ok(checked.length >= 19, `only ${checked.length} protected routes enumerated`);
  await inParallel(checked, 8, async (r) => {
    const path = concrete(r.url);
    for (const [token, what] of [
      [undefined, 'no token'],
      [WRONG, 'a wrong token'],
    ] as const) {
      const res = await send({ method: r.method, path, ...(token ? { token } : {}) });
      assert.equal(res.status, 401, `${key(r)} with ${what}`);
      if (r.method !== 'HEAD') assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'AUTH_FAILED');
    }
    const asViewer = await send({ method: r.method, path, token: VIEWER });
    if (r.access === 'admin') assert.equal(asViewer.status, 403, `${key(r)} with the viewer token`);
    else assert.ok(![401, 403, 429].includes(asViewer.status), `${key(r)} with the viewer token: ${asViewer.status}`);
    const asAdmin = await send({ method: r.method, path, token: ADMIN });
    assert.ok(![401, 403, 429].includes(asAdmin.status) && asAdmin.status < 500, `${key(r)} with the admin token: ${asAdmin.status} ${asAdmin.body}`);
  });
});

/** Spellings of a path that a decoding, case-folding or normalising layer could take for it. */
function variants(path: string, port: number): string[] {
  const out = new Set<string>();
  const hex = (c: string) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
  for (let i = 0; i < path.length; i++) {
    out.add(path.slice(0, i) + hex(path[i]!) + path.slice(i + 1));
    if (/[a-z]/.test(path[i]!)) out.add(path.slice(0, i) + hex(path[i]!).toLowerCase() + path.slice(i + 1));
    if (path[i] === '/') out.add(path.slice(0, i) + '/' + path.slice(i));
  }
  const segments = path.split('/');
  out.add(path.toUpperCase());
  out.add(segments.map((s) => s.charAt(0).toUpperCase() + s.slice(1)).join('/'));
  for (let i = 1; i < segments.length; i++) {
    out.add(segments.map((s, j) => (j === i ? s.toUpperCase() : s)).join('/'));
    out.add(segments.map((s, j) => (j === i ? `${s};x` : s)).join('/'));
  }
  for (const suffix of ['/', '/.', '//', ';x', ';', '%00', '%2F', '%20', '?', '#x', '/..', '/%2e']) out.add(path + suffix);
  for (const prefix of ['/healthz/..', '/x/..', '/x/%2e%2e', '/x/%2E%2E', '/x/.%2e', '/.', '//', '/metrics/..', '/api/..']) out.add(prefix + path);
  out.add('/x/%2e%2e%2f' + path.slice(1));
  out.add('/' + path.slice(1).replaceAll('/', '\\'));
  out.add('/' + path.slice(1).replaceAll('/', '%5C'));
  out.add([...segments.slice(0, -1), '..', ...segments.slice(-2)].join('/')); // /api/v1/../v1/summary
  out.add(`http://127.0.0.1:${port}${path}`);
  out.delete(path);
  return [...out];
}

test('path variants of protected routes never answer without the token (percent-encoding, %2F, case, slashes, ;x, dot segments)', async () => {
  const checked = protectedRoutes().filter((r) => r.method !== 'HEAD');
  const cases = checked.flatMap((r) => variants(concrete(r.url), hub.port).map((path) => ({ r, path })));
  assert.ok(cases.length > 500, `only ${cases.length} variants`);
  process.stdout.write(`# ${cases.length} spellings of ${checked.length} protected routes, each without and with a wrong token\n`);
  await inParallel(cases, 8, async ({ r, path }) => {
    for (const token of [undefined, WRONG]) {
      const res = await send({ method: r.method, path, ...(token ? { token } : {}) });
      assertRefused(res, `${r.method} ${path} with ${token ? 'a wrong token' : 'no token'}`);
    }
  });
  // The variants that decode to the route still reach it with the right token: the checks above were on live routes.
  const decoded = await send({ path: '/%61pi/v1/summary', token: VIEWER });
  assert.equal(decoded.status, 200);
  assert.equal(typeof (JSON.parse(decoded.body) as { total?: number }).total, 'number');
  assert.equal((await send({ path: '/%6detrics', token: VIEWER })).status, 200);
  assert.equal((await send({ path: '/%6detrics' })).status, 401);
  assert.equal((await send({ method: 'POST', path: '/%61pi/v1/reconcile', body: '{"all":true}' })).status, 401);
  assert.equal((await send({ method: 'POST', path: '/%61pi/v1/reconcile', body: '{"all":true}', token: VIEWER })).status, 403);
  assert.equal((await send({ method: 'DELETE', path: '/%61pi/v1/hosts/web-01/credential' })).status, 401);
});

test('path variants with the right token answer the route or a JSON error, never the web view', async () => {
  const checked = protectedRoutes().filter((r) => r.method === 'GET' && r.url !== '/api/v1/events');
  const cases = checked.flatMap((r) => variants(concrete(r.url), hub.port).map((path) => ({ r, path })));
  await inParallel(cases, 8, async ({ r, path }) => {
    const res = await send({ method: r.method, path, token: ADMIN });
    assert.ok([200, 400, 404].includes(res.status), `${path} with the admin token: ${res.status}`);
    if (res.status === 400 && res.body === '') return;
    assert.doesNotMatch(String(res.headers['content-type']), /html/, `${path} with the admin token served the web view`);
  });
});

test('unknown and misspelled hub paths answer a JSON 404, never the web view; client routes still get it', async () => {
  const paths = ['/api/v1/anything', '/api', '/api/', '/API/v1/summary', '/Api/V1/Summary', '/%61pi/v1/x', '/%41PI/v1/summary', '//api/v1/summary', '/api/v2/summary', '/metrics/', '/METRICS', '/healthz/', '/agent', '/x/../api/v1/anything', '/api;x/v1/summary'];
  for (const path of paths) {
    for (const method of ['GET', 'POST', 'DELETE', 'PUT']) {
      const res = await send({ method, path });
      assert.equal(res.status, 404, `${method} ${path}: ${res.status}`);
      assert.match(String(res.headers['content-type']), /^application\/json/, `${method} ${path}`);
      assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'NOT_FOUND');
    }
  }
  for (const path of ['/', '/hosts/web-01', '/tags', '/apix']) {
    const res = await send({ path });
    assert.equal(res.status, 200, path);
    assert.match(String(res.headers['content-type']), /^text\/html/, path);
  }
});

/** 'upgraded' when the hub switched protocols, else the status it answered or 'closed'. */
function upgrade(path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1',
      port: hub.port,
      path,
      agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve('upgraded');
    });
    req.on('response', (res) => {
      res.resume();
      resolve(String(res.statusCode));
    });
    req.on('error', () => resolve('closed'));
    // Refused paths are closed at once; the generous timeout is for /agent's upgrade on a loaded machine.
    req.setTimeout(15_000, () => req.destroy());
    req.end();
  });
}

test('WebSocket upgrades: /agent only; any other path or spelling is refused', async () => {
  assert.equal(await upgrade('/agent'), 'upgraded');
  for (const path of ['/api/v1/events', '/api/v1/summary', '/metrics', '/%61gent', '/agent/', '/AGENT', '//agent', '/agent;x', '/x/../agent', '/', '/healthz']) {
    assert.equal(await upgrade(path), 'closed', path);
  }
});
