// Fault: the Docker daemon is SIGKILLed in the middle of applying a revision
// of several containers and comes back a few seconds later. The real agent
// (the built CLI, its own private dockerd) must end converged on that
// revision — every container once, running — and say so at the hub.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { stringify } from 'yaml';
import { requireComponent } from '../harness/require.ts';
import { PrivateDockerd } from '../harness/private-dockerd.ts';
import { TEST_IMAGE, dockerMissingReason } from '../harness/docker.ts';
import { WorkRepo, freePort, missingGitServer, tempDir } from '../harness/git-servers.ts';
import { AgentProcess, HubProcess, assertEventSeqs, bundleMissing, measured, sleep, waitFor } from '../harness/faults.ts';

const host = `gff-dockerd-${process.pid.toString(36)}`;
const work = tempDir('faults-dockerd');
const engine = new PrivateDockerd();
let hub: HubProcess | null = null;
let agent: AgentProcess | null = null;
let repo: WorkRepo | null = null;

after(async () => {
  await agent?.stop();
  await hub?.stop();
  await engine.dispose().catch(() => undefined);
  repo?.dispose();
  rmSync(work, { recursive: true, force: true });
});

const spec = (version: string) => ({ image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', labels: { version } });
const names = Array.from({ length: 24 }, (_, i) => `app${i}`); // 3 rounds of the 8 parallel applies: room to land the kill mid-apply

function commit(containers: Record<string, object>, message: string): string {
  const id = repo!.commit({ [`${host}/host.yaml`]: '', [`${host}/apps.yaml`]: stringify({ containers }) }, message);
  repo!.push();
  return id;
}

function dockerdPid(): number {
  return Number(readFileSync(join(engine.dir, 'docker.pid'), 'utf8').trim());
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

test('dockerd SIGKILLed mid-apply and restarted: the host ends converged on that revision and reported', { timeout: 120_000 }, async (t) => {
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  if (!requireComponent(t, 'git', missingGitServer('daemon'))) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  await engine.start();
  await engine.copyImage(TEST_IMAGE);
  const client = new Dockerode({ socketPath: engine.socket });
  repo = new WorkRepo(join(work, 'fleet.git'));
  const v1 = commit({ base: spec('v1') }, 'v1: one container');
  hub = new HubProcess({ dataDir: join(work, 'hub'), port: await freePort() });
  await hub.start();
  mkdirSync(join(work, 'files'));
  agent = new AgentProcess({ repo: repo.bare, host, stateDir: join(work, 'state'), hub, interval: '3s', env: { GITFLEET_DOCKER_SOCKET: engine.socket, GITFLEET_FILES_ALLOW: join(work, 'files') } });
  agent.start();
  await hub.convergedAt(host, v1, 60_000).catch((e: unknown) => {
    throw new Error(`${String(e)}\nagent: ${agent!.tail()}`);
  });

  // The new revision: 24 more containers. Kill dockerd as soon as the first of them exists.
  const v2 = commit({ base: spec('v1'), ...Object.fromEntries(names.map((n) => [n, spec('v2')])) }, 'v2: 24 more');
  const pid = dockerdPid();
  const seen = await waitFor('the first container of v2', 30_000, async () => {
    const list = await client.listContainers({ all: true });
    const created = list.filter((c) => names.includes(c.Names[0]!.slice(1))).length;
    return created > 0 ? created : undefined;
  }, 10);
  process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();
  await waitFor('dockerd to die', 10_000, () => (alive(pid) ? undefined : true), 20);
  t.diagnostic(`dockerd SIGKILLed with ${seen} of ${names.length} new containers created`);
  assert.ok(seen < names.length, 'the kill landed in the middle of the apply');

  await sleep(4000);
  assert.equal(agent.exited, null, `the agent survived the outage\n${agent.tail()}`);
  await engine.start();
  const restartedAt = Date.now();
  t.diagnostic(`dockerd down for ${restartedAt - killedAt} ms`);

  const detail = await hub.convergedAt(host, v2, 45_000).catch((e: unknown) => {
    throw new Error(`${String(e)}\nagent: ${agent!.tail(30)}`);
  });
  measured(t, 'fault 1 (dockerd SIGKILLed mid-apply, restarted): dockerd back → converged at the new revision and reported at the hub', Date.now() - restartedAt);

  // Nothing lost, nothing doubled: every declared container exactly once, running, at v2's spec.
  const all = await client.listContainers({ all: true });
  const found = all.map((c) => c.Names[0]!.slice(1)).sort();
  assert.deepEqual(found, ['base', ...names].sort(), 'exactly the declared containers, once each');
  for (const c of all) {
    assert.equal(c.State, 'running', `${c.Names[0]} runs`);
    if (c.Names[0] !== '/base') assert.equal(c.Labels.version, 'v2');
  }
  assert.equal(detail.status?.lastAppliedRevision, v2);
  assert.equal(agent.exited, null, 'the agent never exited');
  assertEventSeqs(await hub.events(host));
  const history = detail.attempts.map((a) => `${a.revision.slice(0, 7)}:${a.result}${a.reason ? `(${a.reason})` : ''}`);
  t.diagnostic(`attempts at the hub (newest first): ${history.join(' ')}`);
  assert.equal(detail.attempts[0]?.revision, v2);
  assert.equal(detail.attempts[0]?.result, 'Succeeded');
});
