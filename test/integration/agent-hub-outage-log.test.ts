// Issue 21, item 5 (an unreachable hub is warned once per outage): the agent
// daemon as a user runs it (`gitfleet agent`), a real hub process that is not
// there at first, then started, stopped and started again. Each outage gives
// one warning when it starts and one when the hub is back, however many
// retries happen in between (those are debug lines).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnAgentDaemon } from '../helpers/agent-daemon.ts';
import { motdFleet } from '../harness/one-host-fleet.ts';
import { ENROLL, freePort, removeDir, startHubProcess, tempDir, waitFor, type HubProcess } from './hub-harness.ts';

const scratch = tempDir('hub-outage-log');
const { fleet, target } = motdFleet(scratch);
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  removeDir(scratch);
});

interface Line {
  level: number;
  msg: string;
}

test('one warning when the hub becomes unreachable and one when it is back, not one per retry', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const agentUrl = `ws://127.0.0.1:${port}/agent`;
  const agent = spawnAgentDaemon(['--repo', fleet, '--host', 'h1', '--state-dir', join(scratch, 'state'), '--files-allow', target], {
    GITFLEET_AGENT_HUB: agentUrl,
    GITFLEET_TOKEN: ENROLL,
    GITFLEET_LOG_LEVEL: 'debug',
    GITFLEET_DOCKER_SOCKET: join(scratch, 'no-docker.sock'),
  });
  cleanups.push(() => agent.stop());
  const lines = agent.lines as unknown as Line[];
  const hubWarnings = () => lines.filter((l) => l.level === 40 && /hub/.test(l.msg)).map((l) => l.msg);
  const retries = () => lines.filter((l) => l.level === 20 && /^hub connection closed/.test(l.msg)).length;

  // Outage 1: the hub is not there when the agent starts.
  await waitFor('the first warning', () => hubWarnings().length >= 1, 30_000);
  assert.match(hubWarnings()[0]!, /^cannot reach the hub: .*ECONNREFUSED.*logged once until it is back/);
  await waitFor('two retries', () => retries() >= 2, 30_000);
  assert.equal(hubWarnings().length, 1, `one warning, not one per retry: ${hubWarnings().join(' | ')}`);
  let hub: HubProcess = await startHubProcess({ dataDir: join(scratch, 'hub'), port });
  cleanups.push(() => hub.stop());
  await waitFor('the hub to be back', () => hubWarnings().some((m) => m === 'hub reachable again'), 30_000);
  assert.equal(hubWarnings().length, 2);

  // Outage 2: the hub goes away while connected, and comes back.
  const before = retries();
  await hub.stop();
  await waitFor('the outage warning', () => hubWarnings().length >= 3, 30_000);
  assert.match(hubWarnings()[2]!, /^hub connection closed/);
  await waitFor('two more retries', () => retries() >= before + 2, 30_000);
  assert.equal(hubWarnings().length, 3, `one warning, not one per retry: ${hubWarnings().join(' | ')}`);
  hub = await startHubProcess({ dataDir: join(scratch, 'hub'), port });
  cleanups.push(() => hub.stop());
  await waitFor('the hub to be back again', () => hubWarnings().length >= 4, 30_000);
  assert.equal(hubWarnings()[3], 'hub reachable again');
});

test('a hub URL without /agent gets the endpoint as a hint', async () => {
  const { withEndpointHint } = await import('../../agent/report/hub-client.ts');
  assert.equal(
    withEndpointHint('Unexpected server response: 404', 'wss://hub.example.com'),
    "Unexpected server response: 404: the agent's hub key names the WebSocket endpoint; did you mean wss://hub.example.com/agent?",
  );
  assert.equal(withEndpointHint('Unexpected server response: 404', 'wss://hub.example.com/agent'), 'Unexpected server response: 404');
});
