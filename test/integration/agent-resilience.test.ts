// The agent killed in the middle of an apply, and the Docker daemon going away
// and coming back: no duplicate or orphaned container, a clear status, and
// recovery without help.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pino } from 'pino';
import Dockerode from 'dockerode';
import { DockerTestHarness, TEST_IMAGE, dockerMissingReason } from '../harness/docker.ts';
import { PrivateDockerd } from '../harness/private-dockerd.ts';
import { missingGitServer } from '../harness/git-servers.ts';
import { requireComponent } from '../harness/require.ts';
import { fleetFixture } from '../helpers/agent-fixture.ts';
import { AgentDaemon } from '../../agent/loop/agent-daemon.ts';

const root = resolve(import.meta.dirname, '../..');
const docker = new DockerTestHarness();
after(() => docker.cleanup());

async function missingParts(): Promise<string | null> {
  return (await dockerMissingReason()) ?? missingGitServer('daemon');
}

test('an agent killed mid-apply converges on restart with no duplicate or orphan', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', await missingParts())) return;
  const fleet = await fleetFixture({ host: 'crash1' });
  try {
    const names = Array.from({ length: 12 }, (_, i) => docker.name(`c${i}`));
    const spec = { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', labels: docker.labels };
    fleet.commit({ containers: Object.fromEntries(names.map((n) => [n, spec])) }, 'twelve');
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'agent', '--once', '--repo', fleet.repo.bare, '--host', 'crash1', '--state-dir', fleet.stateDir], { cwd: root, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    // Kill it as soon as the first container exists: the apply is then in flight.
    const deadline = Date.now() + 60_000;
    let seen = 0;
    while (Date.now() < deadline) {
      seen = (await docker.docker.listContainers({ all: true, filters: JSON.stringify({ label: ['io.gitfleet.managed-by=gitfleet', `io.gitfleet.test=${docker.runId}`] }) })).length;
      if (seen > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await exited;
    assert.ok(seen > 0 && seen < names.length + 1, `killed with ${seen} of ${names.length} containers created`);

    const outcome = await fleet.run('startup');
    assert.equal(outcome.result, 'Succeeded', outcome.message);
    const managed = await docker.docker.listContainers({ all: true, filters: JSON.stringify({ label: ['io.gitfleet.managed-by=gitfleet', `io.gitfleet.test=${docker.runId}`] }) });
    const found = managed.map((c) => c.Names[0]!.slice(1));
    assert.deepEqual(found.sort(), [...names].sort(), 'exactly the declared containers, once each');
    assert.ok(managed.every((c) => c.State === 'running'));
  } finally {
    fleet.dispose();
  }
});

test('Docker daemon stopped: the outage is reported clearly; started again: the agent recovers by itself', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', await missingParts())) return;
  const engine = new PrivateDockerd();
  const fleet = await fleetFixture({ host: 'outage1', config: { docker: { socket: engine.socket } } });
  let daemon: AgentDaemon | null = null;
  try {
    await engine.start();
    await engine.copyImage(TEST_IMAGE);
    fleet.commit({ containers: { svc: { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none' } } }, 'one');
    assert.equal((await fleet.run('startup')).result, 'Succeeded');

    await engine.stop();
    const outcome = await fleet.run('drift-check');
    assert.equal(outcome.converged, false);
    const agent = await fleet.agent();
    await agent.cycle.run('drift-check');
    const status = agent.recorder.snapshot;
    const svc = status.resources.find((r) => r.id === 'container/svc');
    assert.equal(svc?.health, 'Unknown');
    assert.match(svc?.message ?? '', /cannot observe containers: .*(Docker|docker)/);
    assert.equal(status.conditions.find((c) => c.type === 'Ready')?.status, false);

    daemon = new AgentDaemon({ cycle: agent.cycle, status: () => agent.recorder.snapshot, containers: agent.drivers.containers, logger: pino({ level: 'silent' }), poll: 3_600_000, driftCheckMs: 500 });
    await daemon.start();
    await engine.start();
    const client = new Dockerode({ socketPath: engine.socket });
    const deadline = Date.now() + 20_000;
    let running = false;
    while (!running && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      running = await client.getContainer('svc').inspect().then((i) => i.State.Running, () => false);
    }
    assert.equal(running, true, 'the container runs again without any manual trigger');
    await daemon.trigger('drift-check');
    assert.equal(agent.recorder.snapshot.conditions.find((c) => c.type === 'Ready')?.status, true);
  } finally {
    await daemon?.stop();
    await engine.dispose();
    fleet.dispose();
  }
});
