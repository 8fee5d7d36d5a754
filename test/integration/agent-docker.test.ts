// The agent on a real Docker engine, from a real local Git repository: the
// scenarios of issue 3, each observed through the engine itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DockerTestHarness, TEST_IMAGE, TEST_IMAGE_2, dockerMissingReason } from '../harness/docker.ts';
import { requireComponent } from '../harness/require.ts';
import { fleetFixture, type FleetFixture } from '../helpers/agent-fixture.ts';
import { missingGitServer } from '../harness/git-servers.ts';

const docker = new DockerTestHarness();
const web = docker.name('web');
const api = docker.name('api');
const labels = docker.labels;
const base = { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', labels, stop_grace_period: '1s' };
let fleet: FleetFixture;
let missing: string | null = null;

before(async () => {
  missing = (await dockerMissingReason()) ?? missingGitServer('daemon');
  if (missing === null) fleet = await fleetFixture();
});
after(async () => {
  await docker.cleanup();
  fleet?.dispose();
});

const ids = async () => ({ web: (await docker.inspect(web)).Id, api: (await docker.inspect(api)).Id });

test('first converge creates and starts every container with ownership labels', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  fleet.commit({ containers: { [web]: { ...base, env: { GREETING: 'hello' } }, [api]: base } }, 'first');
  const outcome = await fleet.run('startup');
  assert.equal(outcome.result, 'Succeeded', outcome.message);
  const info = await docker.inspect(web);
  assert.equal(info.State.Running, true);
  assert.equal(info.Config.Labels['io.gitfleet.managed-by'], 'gitfleet');
  assert.equal(info.Config.Labels['io.gitfleet.resource'], `container/${web}`);
  assert.ok(info.Config.Env.includes('GREETING=hello'));
  assert.equal((await docker.inspect(api)).State.Running, true);
});

test('a no-op pass touches nothing, also after an agent restart', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  const before = await ids();
  assert.equal((await fleet.run('poll')).result, 'NoChange');
  await fleet.agent();
  const outcome = await fleet.run('startup');
  assert.equal(outcome.result, 'NoChange');
  assert.deepEqual(await ids(), before);
});

test('changing one container’s env recreates only that one', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  const before = await ids();
  fleet.commit({ containers: { [web]: { ...base, env: { GREETING: 'bonjour' } }, [api]: base } }, 'env');
  const outcome = await fleet.run('poll');
  assert.equal(outcome.result, 'Succeeded', outcome.message);
  const now = await ids();
  assert.notEqual(now.web, before.web);
  assert.equal(now.api, before.api);
  assert.ok((await docker.inspect(web)).Config.Env.includes('GREETING=bonjour'));
  const attempt = fleet.config && (await fleet.agent()).recorder.snapshot.attempts[0];
  assert.ok(attempt?.intended.some((l) => l.startsWith('container.create')));
});

test('an unmanaged container with the same image is never touched', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  const stray = await docker.run(docker.name('stray'));
  await fleet.run('drift-check');
  const info = await docker.inspect(stray);
  assert.equal(info.State.Running, true);
  assert.equal(info.Id, stray);
});

test('docker stop, docker rm -f and another image under the managed name are all corrected', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  const id = (await docker.inspect(web)).Id;
  await docker.stop(web, 0);
  let outcome = await fleet.run('docker-event');
  assert.equal(outcome.result, 'Succeeded');
  assert.equal((await docker.inspect(web)).Id, id, 'a stopped container is started, not recreated');
  assert.equal((await docker.inspect(web)).State.Running, true);

  await docker.rmForce(web);
  outcome = await fleet.run('docker-event');
  assert.equal(outcome.result, 'Succeeded');
  assert.equal((await docker.inspect(web)).State.Running, true);

  await docker.rmForce(web);
  await docker.run(web, { image: TEST_IMAGE_2 });
  outcome = await fleet.run('drift-check');
  assert.equal(outcome.result, 'Succeeded');
  const info = await docker.inspect(web);
  assert.equal(info.Config.Image, TEST_IMAGE);
  assert.equal(info.Config.Labels['io.gitfleet.managed-by'], 'gitfleet');
  const attempt = (await fleet.agent()).recorder.snapshot.attempts[0];
  assert.ok(attempt && attempt.driftCorrected.length > 0 && attempt.intended.length === 0, 'counted as drift corrections');
});

test('drift: report shows the drift and does not correct it', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  fleet.commit({ containers: { [web]: { ...base, env: { GREETING: 'bonjour' } }, [api]: { ...base, drift: 'report' } } }, 'report');
  assert.equal((await fleet.run('poll')).result, 'Succeeded');
  await docker.stop(api, 0);
  const outcome = await fleet.run('docker-event');
  assert.equal(outcome.converged, false);
  assert.equal((await docker.inspect(api)).State.Running, false, 'not corrected');
  const status = (await fleet.agent()).recorder.snapshot.resources.find((r) => r.id === `container/${api}`);
  assert.equal(status?.sync, 'Drifted');
  assert.deepEqual(status?.diff[0], { field: 'state', desired: 'running', live: 'exited' });
});

test('a container removed from the tree is pruned; the unmanaged one stays', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  fleet.commit({ containers: { [web]: { ...base, env: { GREETING: 'bonjour' } } } }, 'drop api');
  const outcome = await fleet.run('poll');
  assert.equal(outcome.result, 'Succeeded', outcome.message);
  assert.equal(await docker.exists(api), false);
  assert.equal(await docker.exists(docker.name('stray')), true);
});

test('a revision whose container never becomes healthy is rolled back', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  const good = (await docker.inspect(web)).Config.Labels['io.gitfleet.config-hash'];
  fleet.commit({ containers: { [web]: { ...base, env: { GREETING: 'bonjour' }, healthcheck: { test: ['CMD', 'false'], interval: '1s', retries: 1, start_period: '0s' } } } }, 'unhealthy');
  const outcome = await fleet.run('poll');
  assert.equal(outcome.result, 'RolledBack', outcome.message);
  assert.match(outcome.message ?? '', /Degraded|unhealthy/);
  const info = await docker.inspect(web);
  assert.equal(info.Config.Labels['io.gitfleet.config-hash'], good, 'back on the last good spec');
  assert.equal(info.State.Running, true);
  const status = (await fleet.agent()).recorder.snapshot;
  assert.deepEqual(status.attempts.slice(0, 2).map((a) => a.result), ['RolledBack', 'Failed']);
  // The failed head is not retried on every poll.
  assert.equal((await fleet.run('poll')).result, 'NoChange');
});

test('bad input: a missing image fails that resource; a new revision with it is rolled back', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  const ghost = docker.name('ghost');
  fleet.commit({ containers: { [web]: { ...base, env: { GREETING: 'bonjour' } }, [ghost]: { ...base, image: 'local/does-not-exist:1', pull: 'never' } } }, 'ghost');
  const outcome = await fleet.run('poll');
  assert.equal(outcome.result, 'RolledBack');
  const failedAttempt = (await fleet.agent()).recorder.snapshot.attempts[1];
  assert.equal(failedAttempt?.result, 'Failed');
  assert.match(failedAttempt?.message ?? '', new RegExp(`container/${ghost}: .*local/does-not-exist:1`));
  assert.equal((await docker.inspect(web)).State.Running, true, 'the host stays on its last good revision');
});

test('bad input: on a host with no good revision yet, the other resources still converge', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  const fresh = await fleetFixture({ host: 'h2' });
  try {
    const ok = docker.name('ok');
    const ghost = docker.name('ghost2');
    const badVolume = docker.name('badvol');
    fresh.commit({ containers: { [ok]: base, [ghost]: { ...base, image: 'local/does-not-exist:1', pull: 'never' }, [badVolume]: { ...base, volumes: ['relative/path:/data'] } } }, 'mixed');
    const outcome = await fresh.run('startup');
    assert.equal(outcome.result, 'Failed');
    assert.equal((await docker.inspect(ok)).State.Running, true);
    const statuses = (await fresh.agent()).recorder.snapshot.resources;
    const byId = (name: string) => statuses.find((r) => r.id === `container/${name}`);
    assert.equal(byId(ok)?.sync, 'InSync');
    assert.equal(byId(ghost)?.sync, 'Failed');
    assert.match(byId(ghost)?.message ?? '', /IMAGE_NOT_FOUND/);
    assert.equal(byId(badVolume)?.sync, 'Failed');
    assert.match(byId(badVolume)?.message ?? '', /volume|relative/i);
  } finally {
    fresh.dispose();
  }
});

test('an empty revision is refused unless the tree allows it', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  fleet.commit({}, 'empty');
  const outcome = await fleet.run('poll');
  assert.equal(outcome.result, 'Refused');
  assert.equal(outcome.reason, 'EMPTY_STATE_REFUSED');
  assert.equal((await docker.inspect(web)).State.Running, true);
  fleet.commit({}, 'empty, really', { allowEmpty: true });
  assert.equal((await fleet.run('poll')).result, 'Succeeded');
  assert.equal(await docker.exists(web), false);
  assert.equal(await docker.exists(docker.name('stray')), true, 'the unmanaged container survives even this');
});
