// The audit log through the real hub process: every admin action and a refused
// token are recorded with who, when and from where; GET /api/v1/audit pages
// through them (admin only); the secrets involved never appear in it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, ENROLL, VIEWER, api, makeStatus, removeDir, startAgent, startHubProcess, tempDir, waitFor } from './hub-harness.ts';
import type { AgentProcess, HubProcess } from './hub-harness.ts';
import type { StoredAuditEntry } from '../../hub/store/fleet-records.ts';

const dirs: string[] = [];
const agents: AgentProcess[] = [];
let hub: HubProcess | null = null;

after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await hub?.stop();
  dirs.forEach(removeDir);
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

type Page = { entries: StoredAuditEntry[]; next: number | null };

test('admin actions and refused tokens land in the audit log with who, when and from where', async () => {
  hub = await startHubProcess({ dataDir: dir('audit-hub') });
  const a = await startAgent({ hubUrl: hub.agentUrl, host: 'web-01', stateDir: dir('audit-agent'), token: ENROLL, tags: ['prod/eu'] });
  agents.push(a);
  await waitFor('web-01 to connect', () => a.connected());
  a.send({ status: makeStatus('web-01') });
  const started = new Date().toISOString();

  assert.equal((await api(hub.url, '/api/v1/reconcile', { method: 'POST', body: { host: 'web-01', reason: 'checking' } })).status, 200);
  assert.equal((await api(hub.url, '/api/v1/reconcile', { method: 'POST', body: { tag: 'prod' } })).status, 200);
  const created = await api<{ id: string; token: string }>(hub.url, '/api/v1/enrollment-tokens', { method: 'POST', body: { name: 'rack 7', maxUses: 3, tag: 'prod/eu' } });
  assert.equal(created.status, 201);
  assert.equal((await api(hub.url, `/api/v1/enrollment-tokens/${created.body.id}`, { method: 'DELETE' })).status, 200);
  assert.equal((await api(hub.url, '/api/v1/hosts/web-01/credential', { method: 'DELETE' })).status, 200);
  assert.equal((await api(hub.url, '/api/v1/hosts/web-01', { method: 'DELETE' })).status, 200);
  const guess = 'not-the-admin-token-0123456789';
  assert.equal((await api(hub.url, '/api/v1/summary', { token: guess })).status, 401);
  // A viewer reads the fleet, not the audit log.
  assert.equal((await api(hub.url, '/api/v1/audit', { token: VIEWER })).status, 403);
  assert.equal((await api(hub.url, '/api/v1/audit', { token: null })).status, 401);

  const page = await waitFor('seven entries', async () => {
    const r = await api<Page>(hub!.url, '/api/v1/audit?limit=50');
    return r.body.entries.length >= 7 ? r.body : null;
  });
  const actions = page.entries.map((e) => [e.action, e.target, e.actor, e.outcome]);
  assert.deepEqual(actions, [
    ['login.failed', 'GET /api/v1/summary', null, 'refused'],
    ['host.delete', 'host web-01', 'admin', 'ok'],
    ['credential.reset', 'host web-01', 'admin', 'ok'],
    ['enrollment-token.revoke', `token ${created.body.id}`, 'admin', 'ok'],
    ['enrollment-token.create', `token ${created.body.id} (rack 7)`, 'admin', 'ok'],
    ['reconcile', 'tag prod', 'admin', 'ok'],
    ['reconcile', 'host web-01', 'admin', 'ok'],
  ]);
  assert.match(page.entries[6]!.detail ?? '', /^1 of 1 reached; reason: checking$/);
  assert.match(page.entries[4]!.detail ?? '', /max 3 uses, tag prod\/eu/);
  for (const e of page.entries) {
    assert.equal(e.address, '127.0.0.1');
    assert.ok(e.time >= started && e.time <= new Date().toISOString(), e.time);
  }
  const text = JSON.stringify(page);
  for (const secret of [ADMIN, VIEWER, ENROLL, guess, created.body.token]) assert.ok(!text.includes(secret), 'no token in the audit log');
  assert.equal(page.next, null);

  // Paging: two at a time, back to the oldest.
  const seen: string[] = [];
  let before: number | null | undefined;
  for (let i = 0; i < 10 && before !== null; i++) {
    const r = await api<Page>(hub.url, `/api/v1/audit?limit=2${before ? `&before=${before}` : ''}`);
    seen.push(...r.body.entries.map((e) => e.action));
    before = r.body.next;
  }
  assert.deepEqual(seen, page.entries.map((e) => e.action));
  assert.equal((await api(hub.url, '/api/v1/audit?limit=0')).status, 400);
  assert.equal((await api(hub.url, '/api/v1/audit?limit=2&evil=1')).status, 400);
});
