// Issue 21, item 4 (one way to name things) at the API: a real hub process and
// a reporting agent (its own process, the real hub client); a host whose
// resource is OutOfSync (a Git change not applied yet) is listed and counted
// as OutOfSync, apart from Drifted (a change made on the host).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ENROLL, api, makeStatus, removeDir, startAgent, startHubProcess, tempDir, waitFor, type AgentProcess, type HubProcess } from './hub-harness.ts';

const dir = tempDir('hub-sync-names');
let hub: HubProcess;
const agents: AgentProcess[] = [];
before(async () => {
  hub = await startHubProcess({ dataDir: join(dir, 'hub') });
});
after(async () => {
  for (const a of agents) await a.stop();
  await hub.stop();
  removeDir(dir);
});

test('the API names OutOfSync and Drifted apart: host sync, the state filter and the summary counts', async () => {
  for (const [host, sync] of [['git-change', 'OutOfSync'], ['hand-change', 'Drifted']] as const) {
    const agent = await startAgent({ hubUrl: hub.agentUrl, host, stateDir: join(dir, host), token: ENROLL });
    agents.push(agent);
    agent.send({ status: makeStatus(host, { sync }) });
  }
  const listed = await waitFor('both hosts reported', async () => {
    const r = await api<{ hosts: Array<{ id: string; sync: string }> }>(hub.url, '/api/v1/hosts');
    return r.body.hosts.length === 2 && r.body.hosts.every((h) => h.sync !== 'Unknown') ? r.body.hosts : null;
  });
  assert.deepEqual(Object.fromEntries(listed.map((h) => [h.id, h.sync])), { 'git-change': 'OutOfSync', 'hand-change': 'Drifted' });
  const filtered = await api<{ hosts: Array<{ id: string }> }>(hub.url, '/api/v1/hosts?state=OutOfSync');
  assert.equal(filtered.status, 200);
  assert.deepEqual(filtered.body.hosts.map((h) => h.id), ['git-change']);
  const summary = await api<{ sync: Record<string, number> }>(hub.url, '/api/v1/summary');
  assert.equal(summary.body.sync.OutOfSync, 1);
  assert.equal(summary.body.sync.Drifted, 1);
});
