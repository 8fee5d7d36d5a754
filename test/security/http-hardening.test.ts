// HTTP hardening of the hub (docs/security.md, "HTTP and web view hardening"),
// against a real hub process over real sockets: slow clients are cut, failed
// tokens are throttled per address and logged once, every response carries
// the security headers, and no source map is served.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadHubConfig } from '../../hub/config.ts';
import { defaultWebRoot, startHub } from '../../hub/main.ts';
import { REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS, TIMEOUT_CHECK_INTERVAL_MS } from '../../hub/auth/http-hardening.ts';
import { TOKEN_FAILURE_LIMIT } from '../../hub/auth/failure-throttle.ts';
import { ADMIN, ENROLL, VIEWER, freePort, removeDir, root, startHubProcess, tempDir, waitFor } from '../integration/hub-harness.ts';
import type { HubProcess } from '../integration/hub-harness.ts';
import { inParallel, rawRequest } from './raw-http.ts';
import type { RawResponse } from './raw-http.ts';

let hub: HubProcess;
const dirs: string[] = [];

before(async () => {
  const dataDir = tempDir('hardening');
  dirs.push(dataDir);
  hub = await startHubProcess({ dataDir });
});

after(async () => {
  await hub?.stop();
  for (const d of dirs) removeDir(d);
});

/** The directives of the CSP in the web view's index.html <meta>. */
function metaCspDirectives(): string[] {
  const html = readFileSync(join(root, 'hub/web/index.html'), 'utf8');
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
  assert.ok(csp, 'index.html has a CSP meta tag');
  return csp.split(';').map((d) => d.trim());
}

function assertSecurityHeaders(res: RawResponse, what: string): void {
  const csp = String(res.headers['content-security-policy'] ?? '');
  const directives = csp.split(';').map((d) => d.trim());
  for (const d of [...metaCspDirectives(), "frame-ancestors 'none'"]) assert.ok(directives.includes(d), `${what}: CSP header lacks "${d}": ${csp}`);
  assert.equal(res.headers['x-frame-options'], 'DENY', what);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(res.headers['referrer-policy'], 'no-referrer', what);
}

test('security headers on every kind of response: page, assets, API JSON, errors, event stream, HEAD', async () => {
  const auth = { authorization: `Bearer ${ADMIN}` };
  const cases: Array<[string, { method?: string; path: string; headers?: Record<string, string> }, number]> = [
    ['the page', { path: '/' }, 200],
    ['a client route', { path: '/hosts/web-01' }, 200],
    ['the script', { path: '/app.js' }, 200],
    ['the stylesheet', { path: '/app.css' }, 200],
    ['API JSON', { path: '/api/v1/summary', headers: auth }, 200],
    ['metrics', { path: '/metrics', headers: auth }, 200],
    ['healthz', { path: '/healthz' }, 200],
    ['the event stream', { path: '/api/v1/events', headers: auth }, 200],
    ['HEAD of the page', { method: 'HEAD', path: '/' }, 200],
    ['401', { path: '/api/v1/summary' }, 401],
    ['403', { method: 'POST', path: '/api/v1/head/refresh', headers: { authorization: `Bearer ${VIEWER}` } }, 403],
    ['404 of the router', { method: 'POST', path: '/nowhere' }, 404],
    ['404 of an unknown API path', { path: '/api/v1/nothing' }, 404],
    ['404 of a host', { path: '/api/v1/hosts/nobody', headers: auth }, 404],
    ['400 of a bad query', { path: '/api/v1/hosts?bogus=1', headers: auth }, 400],
    ['400 of a malformed path', { path: '/api/v1/hosts/%zz' }, 400],
    ['the webhook refusing an unsigned push', { method: 'POST', path: '/api/v1/hooks/git', headers: { 'x-github-event': 'push', 'content-type': 'application/json' } }, 401],
    ['400 of a bad JSON body', { method: 'POST', path: '/api/v1/reconcile', headers: { ...auth, 'content-type': 'application/json' } }, 400],
  ];
  for (const [what, req, status] of cases) {
    const res = await rawRequest(hub.port, req.method === 'POST' ? { ...req, body: what.includes('JSON') ? '{not json' : '{}' } : req);
    assert.equal(res.status, status, `${what}: ${res.status} ${res.body.slice(0, 100)}`);
    assertSecurityHeaders(res, what);
    if (status >= 400 && req.method !== 'HEAD') assert.equal(typeof (JSON.parse(res.body) as { error?: { code?: string } }).error?.code, 'string', `${what}: ${res.body}`);
  }
});

test('no source map: the build makes none, and the hub refuses *.map even when one is in the web root', async () => {
  assert.deepEqual(
    readdirSync(defaultWebRoot).filter((f) => f.endsWith('.map')),
    [],
    `${defaultWebRoot} holds a source map`,
  );
  const res = await rawRequest(hub.port, { path: '/app.js.map' });
  assert.equal(res.status, 404);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assertSecurityHeaders(res, 'the .map 404');

  // A web root with a stale map in it (an old build): still 404.
  const webRoot = tempDir('hardening-web');
  const dataDir = tempDir('hardening-inproc');
  dirs.push(webRoot, dataDir);
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(webRoot, 'app.js'), 'export {};\n//# sourceMappingURL=app.js.map\n');
  writeFileSync(join(webRoot, 'app.js.map'), '{"version":3,"sources":["secret.ts"]}');
  const env = { GITFLEET_HUB_LISTEN: `127.0.0.1:${await freePort()}`, GITFLEET_HUB_DATA_DIR: dataDir, GITFLEET_HUB_ENROLLMENT_TOKEN: ENROLL, GITFLEET_HUB_ADMIN_TOKEN: ADMIN };
  const local = await startHub({ config: loadHubConfig(undefined, env), logger: pino({ level: 'silent' }), repoView: null, webRoot });
  try {
    const port = Number(new URL(local.url).port);
    assert.equal((await rawRequest(port, { path: '/app.js' })).status, 200);
    for (const path of ['/app.js.map', '/APP.JS.MAP', '/app.js%2Emap', '/./app.js.map', '/app.js.map?x=1']) {
      const map = await rawRequest(port, { path });
      assert.ok(!map.body.includes('secret.ts'), `${path} served the source map`);
    }
    assert.equal((await rawRequest(port, { path: '/app.js.map' })).status, 404);
  } finally {
    await local.close();
  }
});

/** Sends `head` at once, then `dribble` one byte a second; resolves when the hub closes the connection. */
function dribble(head: string, dribbleBytes: string): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(hub.port, '127.0.0.1');
    let answer = '';
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (i < dribbleBytes.length && !socket.destroyed) socket.write(dribbleBytes[i++]!);
      }, 1000);
    });
    socket.on('error', () => {
      // a reset instead of a close is a cut too
    });
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - started, answer });
    });
    setTimeout(() => {
      if (!socket.destroyed) {
        socket.destroy();
        reject(new Error(`the hub still held the connection after 40 s (sent ${i} bytes)`));
      }
    }, 40_000).unref();
  });
}

test('slow clients are cut: a body or headers at 1 byte/s are closed within the request timeout, and the hub keeps answering', async () => {
  const limitMs = Math.max(REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS) + TIMEOUT_CHECK_INTERVAL_MS + 1500;
  const body = '{"ref":"refs/heads/main"}'.padEnd(200, ' ');
  const slowBody = dribble(
    `POST /api/v1/hooks/git HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nContent-Length: ${body.length}\r\n\r\n`,
    body,
  );
  const slowHeaders = dribble('GET /healthz HTTP/1.1\r\n', 'Host: x\r\nX-Slow: ' + 'a'.repeat(100) + '\r\n\r\n');
  // While both are held, others are served.
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await rawRequest(hub.port, { path: '/healthz' })).status, 200);
  const [b, h] = await Promise.all([slowBody, slowHeaders]);
  process.stdout.write(`# slow body cut after ${b.ms} ms, slow headers after ${h.ms} ms (limit ${limitMs} ms)\n`);
  for (const [what, r] of [
    ['slow body', b],
    ['slow headers', h],
  ] as const) {
    assert.ok(r.ms < limitMs, `${what}: held ${r.ms} ms`);
    assert.ok(r.ms >= Math.min(REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS) - 1000, `${what}: cut after only ${r.ms} ms, before the timeout`);
    assert.match(r.answer, /^(HTTP\/1\.1 408|$)/, `${what}: ${r.answer.slice(0, 80)}`);
  }
});

test('failed tokens: 300 wrong ones in under 5 s meet 429 with Retry-After past the limit, one warning names the address, other addresses are unaffected', async () => {
  const attacker = '127.0.5.5';
  const wrong = 'guess-0123456789abcdef-guess';
  const started = Date.now();
  const results = await inParallel(
    Array.from({ length: 300 }, (_, i) => i),
    10,
    (i) => rawRequest(hub.port, { path: i % 2 ? '/api/v1/summary' : '/metrics', headers: { authorization: `Bearer ${wrong}${i}` }, localAddress: attacker }),
  );
  const elapsed = Date.now() - started;
  process.stdout.write(`# 300 wrong tokens in ${elapsed} ms\n`);
  assert.ok(elapsed < 5000, `300 requests took ${elapsed} ms`);
  const unauthorized = results.filter((r) => r.status === 401).length;
  const limited = results.filter((r) => r.status === 429);
  assert.equal(unauthorized, TOKEN_FAILURE_LIMIT);
  assert.equal(limited.length, 300 - TOKEN_FAILURE_LIMIT);
  for (const r of limited) {
    const retryAfter = Number(r.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${String(r.headers['retry-after'])}`);
    assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'RATE_LIMITED');
  }

  // The right token from the throttled address is refused too (a guess must not be confirmable); public routes still answer.
  assert.equal((await rawRequest(hub.port, { path: '/api/v1/summary', headers: { authorization: `Bearer ${ADMIN}` }, localAddress: attacker })).status, 429);
  assert.equal((await rawRequest(hub.port, { path: '/healthz', localAddress: attacker })).status, 200);
  // Another address with the right token: served.
  assert.equal((await rawRequest(hub.port, { path: '/api/v1/summary', headers: { authorization: `Bearer ${VIEWER}` }, localAddress: '127.0.5.6' })).status, 200);

  const warnings = await waitFor('the throttling warning', () => {
    const found = hub.logs.filter((l) => l.component === 'auth' && String(l.msg).includes(attacker));
    return found.length > 0 ? found : null;
  });
  await new Promise((r) => setTimeout(r, 300));
  const all = hub.logs.filter((l) => l.component === 'auth' && String(l.msg).includes(attacker));
  assert.equal(all.length, 1, `one warning per address and window: ${JSON.stringify(all)}`);
  assert.equal(warnings[0]!.level, 40);
  assert.ok(!JSON.stringify(hub.logs).includes(wrong), 'a presented token is never logged');
});
