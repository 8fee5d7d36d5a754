// Issue 21, item 5 (`--once` reports its result to the hub when one is
// configured): a real hub process; `gitfleet agent --once` with the agent's
// hub key set enrolls, and its attempt and status reach the hub before it
// exits, which it says. With the hub stopped it says it did not, within the
// bound, and its exit code is the reconcile's, not the hub's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitfleet } from '../helpers/gitfleet-cli.ts';
import { motdFleet } from '../harness/one-host-fleet.ts';
import { ENROLL, api, removeDir, startHubProcess, tempDir, type HubProcess } from './hub-harness.ts';
import type { HostStatus, Attempt } from '../../shared/status.ts';

const scratch = tempDir('once-hub');
const { fleet, target } = motdFleet(scratch);
let hub: HubProcess;

before(async () => {
  hub = await startHubProcess({ dataDir: join(scratch, 'hub') });
});
after(async () => {
  await hub.stop();
  removeDir(scratch);
});

const once = (stateDir: string, json = false) =>
  gitfleet(['agent', '--once', ...(json ? ['--json'] : []), '--repo', fleet, '--host', 'h1', '--state-dir', stateDir, '--files-allow', target], {
    env: { GITFLEET_AGENT_HUB: hub.agentUrl, GITFLEET_TOKEN: ENROLL, GITFLEET_DOCKER_SOCKET: join(scratch, 'no-docker.sock') },
    timeoutMs: 60_000,
  });

interface HostDetail {
  status: HostStatus | null;
  attempts: Attempt[];
}

test('--once with a hub: enrolls, the attempt and status are on the hub when it exits, and it says so', async () => {
  const run = await once(join(scratch, 'state'));
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /converged/);
  assert.match(run.stdout, new RegExp(`reported to the hub \\(${hub.agentUrl.replace(/[/.]/g, '\\$&')}\\)`));
  assert.doesNotMatch(run.stdout, /not reported/);
  // No waiting here: it was acknowledged before the process exited.
  const detail = await api<HostDetail>(hub.url, '/api/v1/hosts/h1');
  assert.equal(detail.status, 200, JSON.stringify(detail.body));
  assert.equal(detail.body.status?.resources.find((r) => r.id === `file/${target}/motd`)?.sync, 'InSync');
  assert.equal(detail.body.attempts[0]?.trigger, 'manual');
  assert.equal(detail.body.attempts[0]?.result, 'Succeeded');
});

test('--once with the hub down: the same exit code, "not reported" with the cause, within the bound', async () => {
  await hub.stop();
  writeFileSync(join(target, 'motd'), 'edited by hand\n');
  const run = await once(join(scratch, 'state'), true);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const report = (JSON.parse(run.stdout) as { report: { delivered: boolean; reason: string } }).report;
  assert.equal(report.delivered, false);
  assert.match(report.reason, /ECONNREFUSED/);
  assert.ok(run.ms < 20_000, `bounded wait (took ${run.ms} ms)`);
  const text = await once(join(scratch, 'state'));
  assert.equal(text.code, 0);
  assert.match(text.stdout, /not reported to the hub \(ws:\/\/127\.0\.0\.1:\d+\/agent\): .*ECONNREFUSED.*; the report stays queued/);
});
