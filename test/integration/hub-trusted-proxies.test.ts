// Behind a load balancer every client comes from the balancer's address. With
// hub config `trustedProxies` the hub takes the client's address from the
// X-Forwarded-For a trusted proxy adds: the audit log names the client, failed
// tokens are throttled per client (one guesser does not lock everyone out),
// and the bound on agents waiting for their hello is per client (a replica's
// agents reconnecting through the balancer are not refused as one address).
// Without it, the header is ignored: a client cannot choose its address.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { ADMIN, VIEWER, api, removeDir, startHubProcess, tempDir, type HubProcess } from './hub-harness.ts';
import { MAX_PENDING_PER_ADDRESS } from '../../hub/gateway/agent-gateway.ts';
import { TOKEN_FAILURE_LIMIT } from '../../hub/auth/failure-throttle.ts';

const dirs: string[] = [];
let proxied: HubProcess;
let direct: HubProcess;
before(async () => {
  dirs.push(tempDir('trusted-proxy'), tempDir('no-proxy'));
  proxied = await startHubProcess({ dataDir: dirs[0]!, env: { GITFLEET_HUB_TRUSTED_PROXIES: '127.0.0.1' } });
  direct = await startHubProcess({ dataDir: dirs[1]! });
});
after(async () => {
  await Promise.all([proxied.stop(), direct.stop()]);
  dirs.forEach(removeDir);
});

interface AuditEntry {
  address: string | null;
  action: string;
}

async function refusedToken(hub: HubProcess, forwardedFor: string): Promise<number> {
  return (await api(hub.url, '/api/v1/summary', { token: 'wrong-token-0123456789abcdef', headers: { 'x-forwarded-for': forwardedFor } })).status;
}

const lastLoginFailure = async (hub: HubProcess) =>
  (await api<{ entries: AuditEntry[] }>(hub.url, '/api/v1/audit?limit=5', { token: ADMIN })).body.entries.find((e) => e.action === 'login.failed');

test('the audit log names the client a trusted proxy forwards; from anyone else the header is ignored', async () => {
  assert.equal(await refusedToken(proxied, '203.0.113.7'), 401);
  assert.equal((await lastLoginFailure(proxied))?.address, '203.0.113.7');
  assert.equal(await refusedToken(direct, '203.0.113.7'), 401);
  assert.equal((await lastLoginFailure(direct))?.address, '127.0.0.1');
});

test('failed tokens are throttled per forwarded client, not for everyone behind the proxy', async () => {
  for (let i = 0; i < TOKEN_FAILURE_LIMIT + 1; i++) await refusedToken(proxied, '203.0.113.66');
  assert.equal(await refusedToken(proxied, '203.0.113.66'), 429, 'the guesser is throttled');
  const other = await api(proxied.url, '/api/v1/summary', { token: VIEWER, headers: { 'x-forwarded-for': '203.0.113.67' } });
  assert.equal(other.status, 200, 'another client through the same proxy is not');
});

/** An agent upgrade that never says hello; resolves with the status line. */
function pendingUpgrade(port: number, forwardedFor: string, open: Array<{ destroy(): void }>): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'GET /agent HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: ${forwardedFor}\r\n\r\n`,
      );
    });
    open.push(socket);
    socket.once('data', (d: Buffer) => resolve(d.toString().split('\r\n')[0]!));
    socket.once('error', reject);
  });
}

test(`agents waiting for their hello are bounded per forwarded client (${MAX_PENDING_PER_ADDRESS} each), not per proxy`, async () => {
  const open: Array<{ destroy(): void }> = [];
  try {
    // Through the trusted proxy: more distinct clients than one address may have waiting, all accepted.
    const many = await Promise.all(Array.from({ length: MAX_PENDING_PER_ADDRESS + 8 }, (_, i) => pendingUpgrade(proxied.port, `198.51.100.${i + 1}`, open)));
    assert.deepEqual([...new Set(many)], ['HTTP/1.1 101 Switching Protocols']);
    // One forwarded client past its bound is refused.
    const one = [];
    for (let i = 0; i <= MAX_PENDING_PER_ADDRESS; i++) one.push(await pendingUpgrade(proxied.port, '198.51.100.200', open));
    assert.equal(one.at(-1), 'HTTP/1.1 503 Service Unavailable');
    // Not trusted: the header changes nothing, every connection is the socket's address.
    const untrusted = [];
    for (let i = 0; i <= MAX_PENDING_PER_ADDRESS; i++) untrusted.push(await pendingUpgrade(direct.port, `198.51.100.${i + 1}`, open));
    assert.equal(untrusted.filter((l) => l.startsWith('HTTP/1.1 101')).length, MAX_PENDING_PER_ADDRESS);
    assert.equal(untrusted.at(-1), 'HTTP/1.1 503 Service Unavailable');
  } finally {
    open.forEach((s) => s.destroy());
  }
});

test('an entry that is not an address or a range is a configuration error naming it', async () => {
  const dir = tempDir('bad-proxy');
  dirs.push(dir);
  await assert.rejects(startHubProcess({ dataDir: dir, env: { GITFLEET_HUB_TRUSTED_PROXIES: '127.0.0.1,10.0.0.0/33' } }), /trustedProxies: "10\.0\.0\.0\/33" is not an IP address/);
});
