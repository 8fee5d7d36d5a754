// Enrollment hardening against a real hub process over real sockets: scoped
// enrollment tokens (admin-only API, secret shown once, expiry, maximum uses,
// host-id glob, tag needing the repo, revocation), a hub with no fleet-wide
// token, the enrollment throttle per remote address (refusals logged once per
// window), and DELETE /api/v1/hosts/{id} closing the session and removing
// everything of the host.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import WebSocket from 'ws';
import { ADMIN, VIEWER, root, api, makeStatus, removeDir, startAgent, startHubProcess, tempDir, waitFor } from '../integration/hub-harness.ts';
import type { AgentProcess, HubProcess } from '../integration/hub-harness.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { emptyFacts } from '../../agent/facts.ts';

interface TokenView {
  id: string;
  name: string;
  token?: string;
  expiresAt: string | null;
  maxUses: number | null;
  uses: number;
  hostPattern: string | null;
  tag: string | null;
  state: string;
}

const dir = tempDir('enroll-tokens');
let hub: HubProcess | null = null;
const agents: AgentProcess[] = [];

before(async () => {
  // No fleet-wide token: scoped tokens are the only way in. A low per-address rate to see the throttle.
  hub = await startHubProcess({ dataDir: join(dir, 'hub'), env: { GITFLEET_HUB_ENROLLMENT_TOKEN: '', GITFLEET_HUB_ENROLL_RATE_PER_ADDRESS: '12' } });
});

after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await hub?.stop();
  removeDir(dir);
});

/** A hello from a raw socket; resolves with the hub's first answer (welcome or error) and the close code. */
async function tryEnroll(
  host: string,
  token: string | undefined,
  extra: Record<string, unknown> = {},
  from = '127.0.0.1',
): Promise<{ type: string; code?: string; message?: string; closeCode: number | null }> {
  const ws = new WebSocket(hub!.agentUrl, { localAddress: from });
  ws.on('error', () => undefined);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
  });
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  const first = new Promise<Record<string, unknown>>((r) => ws.once('message', (d: Buffer) => r(JSON.parse(d.toString()) as Record<string, unknown>)));
  ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, host, agentVersion: 'raw', place: '', tags: [], facts: emptyFacts(), droppedEvents: 0, ...(token ? { enrollmentToken: token } : {}), ...extra }));
  const answer = await first;
  let closeCode: number | null = null;
  if (answer.type === 'error') closeCode = await closed;
  else ws.close();
  return { type: String(answer.type), code: answer.code as string | undefined, message: answer.message as string | undefined, closeCode };
}

async function create(body: Record<string, unknown>): Promise<TokenView> {
  const r = await api<TokenView>(hub!.url, '/api/v1/enrollment-tokens', { method: 'POST', body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('scoped tokens: admin only, the secret shown once and stored hashed; glob, maximum uses, expiry, tag and revocation enforced', async () => {
  const h = hub!;
  // Viewers and anonymous callers can neither create nor list nor revoke.
  for (const token of [VIEWER, null]) {
    assert.ok([401, 403].includes((await api(h.url, '/api/v1/enrollment-tokens', { token })).status));
    assert.ok([401, 403].includes((await api(h.url, '/api/v1/enrollment-tokens', { token, method: 'POST', body: { name: 'x' } })).status));
    assert.ok([401, 403].includes((await api(h.url, '/api/v1/enrollment-tokens/et-000000000000', { token, method: 'DELETE' })).status));
  }
  // Bad bodies are refused with the key named.
  for (const [body, why] of [
    [{}, /name/],
    [{ name: 'x', hostPattern: 'a b' }, /hostPattern/],
    [{ name: 'x', expiresIn: '9000h' }, /expiresIn/],
    [{ name: 'x', maxUses: 0 }, /maxUses/],
    [{ name: 'x', secret: 'mine' }, /unknown key secret/],
  ] as const) {
    const r = await api<{ error: { message: string } }>(h.url, '/api/v1/enrollment-tokens', { method: 'POST', body });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, why);
  }

  const kiosks = await create({ name: 'kiosk rollout', hostPattern: 'kiosk-*', maxUses: 2, expiresIn: '2h' });
  assert.match(kiosks.token!, /^gfe_[A-Za-z0-9_-]{43}$/);
  assert.equal(kiosks.state, 'active');
  const listed = await api<{ tokens: TokenView[] }>(h.url, '/api/v1/enrollment-tokens');
  assert.equal(listed.status, 200);
  const text = JSON.stringify(listed.body);
  assert.ok(!text.includes(kiosks.token!) && !text.includes('secretHash') && !text.includes('secret_hash'), 'the list never shows the secret or its hash');
  assert.deepEqual(
    listed.body.tokens.map((t) => [t.id, t.name, t.maxUses, t.uses, t.hostPattern]),
    [[kiosks.id, 'kiosk rollout', 2, 0, 'kiosk-*']],
  );

  // No fleet-wide token is configured: only the scoped one works.
  const none = await tryEnroll('kiosk-0', 'enroll-token-0123456789abcdef');
  assert.deepEqual([none.code, none.message, none.closeCode], ['AUTH_FAILED', 'wrong enrollment token', 4001]);
  const noToken = await tryEnroll('kiosk-0', undefined);
  assert.match(noToken.message!, /not enrolled and sent no enrollment token/);

  // The glob: another id is refused, naming the pattern.
  const outside = await tryEnroll('web-01', kiosks.token);
  assert.equal(outside.code, 'AUTH_FAILED');
  assert.match(outside.message!, new RegExp(`enrollment token ${kiosks.id} \\(kiosk rollout\\) enrolls only host ids matching kiosk-\\*, not web-01`));

  // A real agent enrolls with it and reports.
  const a = await startAgent({ hubUrl: h.agentUrl, host: 'kiosk-1', stateDir: join(dir, 'kiosk-1'), token: kiosks.token! });
  agents.push(a);
  await waitFor('kiosk-1 connected', () => a.connected());
  assert.equal((await tryEnroll('kiosk-2', kiosks.token)).type, 'welcome');
  // Two uses: the third is refused.
  const third = await tryEnroll('kiosk-3', kiosks.token);
  assert.equal(third.code, 'AUTH_FAILED');
  assert.match(third.message!, /is used up \(2 enrollments\)/);
  const after2 = (await api<{ tokens: TokenView[] }>(h.url, '/api/v1/enrollment-tokens')).body.tokens[0]!;
  assert.deepEqual([after2.uses, after2.state], [2, 'used-up']);
  // The enrollment event names the token.
  const events = await api<{ events: Array<{ reason: string; message: string }> }>(h.url, '/api/v1/hosts/kiosk-1/events');
  assert.ok(events.body.events.some((e) => e.reason === 'Enrolled' && e.message.includes(kiosks.id)));

  // Expiry.
  const brief = await create({ name: 'brief', expiresIn: '1s' });
  await new Promise((r) => setTimeout(r, 1100));
  const expired = await tryEnroll('late-01', brief.token);
  assert.match(expired.message!, /expired at /);

  // A tag needs the repo: this hub has none, so the token enrolls nothing (deny by default).
  const tagged = await create({ name: 'prod only', tag: 'prod/eu' });
  const noRepo = await tryEnroll('web-02', tagged.token, { place: 'prod/eu' });
  assert.match(noRepo.message!, /scoped to tag prod\/eu, and the hub does not know the fleet repo's head/);

  // Revoked: refused like an unknown token, and gone from the list.
  const spare = await create({ name: 'spare' });
  const revoked = await api<{ revoked: boolean }>(h.url, `/api/v1/enrollment-tokens/${spare.id}`, { method: 'DELETE' });
  assert.deepEqual([revoked.status, revoked.body.revoked], [200, true]);
  assert.equal((await api(h.url, `/api/v1/enrollment-tokens/${spare.id}`, { method: 'DELETE' })).status, 404);
  assert.equal((await tryEnroll('spare-01', spare.token)).message, 'wrong enrollment token');
  assert.ok(!(await api<{ tokens: TokenView[] }>(h.url, '/api/v1/enrollment-tokens')).body.tokens.some((t) => t.id === spare.id));
  // The secret is in no log line.
  const logs = JSON.stringify(h.logs);
  for (const t of [kiosks, brief, tagged, spare]) assert.ok(!logs.includes(t.token!), 'a secret in the logs');
});

test('enrollment attempts are throttled per remote address; the refusal is logged once per window', async () => {
  const h = hub!;
  const token = (await create({ name: 'throttle' })).token!;
  // The first test used some of this minute's 12 attempts from 127.0.0.1; use them up with wrong tokens.
  let refusedBy: string | undefined;
  for (let i = 0; i < 20 && refusedBy === undefined; i++) {
    const r = await tryEnroll(`guess-${i}`, `wrong-token-${i}-0123456789`);
    if (/too many enrollment attempts/.test(r.message ?? '')) refusedBy = r.message;
  }
  assert.match(refusedBy ?? '', /too many enrollment attempts with remote address 127\.0\.0\.1; retry in \d+ s/);
  // Now even the right token is refused from this address, and more refusals add no log lines.
  for (let i = 0; i < 5; i++) assert.match((await tryEnroll(`throttled-${i}`, token)).message ?? '', /too many enrollment attempts/);
  // The hub's log comes through a pipe: wait for the line, then a moment more in which a second one would show.
  const throttledLines = () => h.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('enrollment throttled'));
  await waitFor('the hub to log the throttling', () => throttledLines().length > 0, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(throttledLines().length, 1, 'one log line per window');
  // An enrolled host (credential, no token) is not affected: kiosk-1 is still connected.
  assert.equal(agents[0]!.connected(), true);
});

test('DELETE /api/v1/hosts/{id}: admin only; closes the session and removes the host with everything it reported', async () => {
  const h = hub!;
  const a = agents[0]!;
  a.send({ status: makeStatus('kiosk-1', { note: 'before-delete' }) });
  a.send({ event: { reason: 'Kept', message: 'until deleted' } });
  await waitFor('the status stored', async () => {
    const r = await api<{ status: { conditions: Array<{ message: string }> } | null }>(h.url, '/api/v1/hosts/kiosk-1');
    return r.body.status?.conditions[0]?.message === 'before-delete';
  });
  assert.equal((await api(h.url, '/api/v1/hosts/kiosk-1', { method: 'DELETE', token: VIEWER })).status, 403);
  assert.equal((await api(h.url, '/api/v1/hosts/kiosk-1', { method: 'DELETE', token: null })).status, 401);
  const del = await api<{ host: string; deleted: boolean; disconnected: boolean }>(h.url, '/api/v1/hosts/kiosk-1', { method: 'DELETE' });
  assert.deepEqual(del, { status: 200, body: { host: 'kiosk-1', deleted: true, disconnected: true } });
  await waitFor('the agent to be disconnected', () => !a.connected());
  assert.equal((await api(h.url, '/api/v1/hosts/kiosk-1')).status, 404);
  assert.equal((await api(h.url, '/api/v1/hosts/kiosk-1/events')).status, 404);
  const hosts = await api<{ hosts: Array<{ id: string }> }>(h.url, '/api/v1/hosts');
  assert.ok(!hosts.body.hosts.some((x) => x.id === 'kiosk-1'));
  assert.equal((await api(h.url, '/api/v1/hosts/kiosk-1', { method: 'DELETE' })).status, 404);
  // Its old credential is worthless now: the id is free and not enrolled (asked from another address: 127.0.0.1 is throttled).
  const again = await tryEnroll('kiosk-1', undefined, { credential: 'whatever-the-agent-had' }, '127.0.0.7');
  assert.match(again.message ?? '', /not enrolled and sent no enrollment token/);
});

test('gitfleet token create|list|revoke drive the same API from a terminal', async () => {
  const h = hub!;
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'token', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GITFLEET_API_URL: h.url, GITFLEET_API_TOKEN: ADMIN },
      encoding: 'utf8',
    });
  const created = cli('create', '--name', 'from the cli', '--max-uses', '3', '--host-pattern', 'cli-*', '--expires-in', '48h');
  assert.equal(created.status, 0, created.stderr);
  const secret = created.stdout.trim();
  assert.match(secret, /^gfe_[A-Za-z0-9_-]{43}$/, 'stdout is the secret alone');
  const id = /created (et-[0-9a-f]{12})/.exec(created.stderr)?.[1];
  assert.ok(id, created.stderr);
  const listed = cli('list');
  assert.equal(listed.status, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`${id}  active   uses 0/3  expires \\S+  hosts cli-\\*  tag -  from the cli`));
  assert.ok(!listed.stdout.includes(secret));
  assert.equal((await tryEnroll('cli-1', secret, {}, '127.0.0.9')).type, 'welcome');
  const viewer = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'token', 'list', '--hub', h.url, '--token', VIEWER], { cwd: root, encoding: 'utf8' });
  assert.equal(viewer.status, 1);
  assert.match(viewer.stderr, /^gitfleet token: the hub answered 403/);
  const revoked = cli('revoke', id);
  assert.deepEqual([revoked.status, revoked.stdout], [0, `revoked ${id}\n`]);
  assert.equal(cli('revoke', id).status, 1);
  assert.equal(cli('frobnicate').status, 2);
  assert.equal((await tryEnroll('cli-2', secret, {}, '127.0.0.9')).message, 'wrong enrollment token');
});
