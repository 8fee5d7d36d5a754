// The in-memory driver's test-only controls (the contract suite covers the
// interface itself against the real engine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryContainerDriver, normalizeImageRef } from '../../agent/drivers/memory/containers.ts';
import type { ContainerEvent } from '../../agent/drivers/types.ts';
import { isGitfleetError } from '../../shared/errors.ts';

const image = 'local/busybox:1';
const tick = () => new Promise((r) => setImmediate(r));

test('image references normalize like the engine resolves them', () => {
  assert.equal(normalizeImageRef('busybox'), 'busybox:latest');
  assert.equal(normalizeImageRef('docker.io/library/busybox:1'), 'busybox:1');
  assert.equal(normalizeImageRef('127.0.0.1:5000/x'), '127.0.0.1:5000/x:latest');
  assert.equal(normalizeImageRef('x@sha256:abc'), 'x@sha256:abc');
});

test('exit applies the restart policy: on-failure restarts a failure, counts it, and emits die then start', async () => {
  const d = new MemoryContainerDriver({ images: [image] });
  const events: ContainerEvent[] = [];
  d.watch((e) => events.push(e));
  await d.create('web', { image, restart: 'on-failure' }, {});
  await d.start('web');
  d.exit('web', 1);
  let live = (await d.list())[0];
  assert.equal(live?.state, 'running');
  assert.equal(live.restartCount, 1);
  d.exit('web', 0);
  live = (await d.list())[0];
  assert.equal(live?.state, 'exited');
  assert.equal(live.exitCode, 0);
  await tick();
  assert.deepEqual(events.map((e) => `${e.action}${e.exitCode ?? ''}`), ['create', 'start', 'die1', 'start', 'die0']);
});

test('oom emits oom and kills with 137; setHealth emits health_status', async () => {
  const d = new MemoryContainerDriver({ images: [image] });
  const events: ContainerEvent[] = [];
  d.watch((e) => events.push(e));
  await d.create('db', { image, healthcheck: { test: 'true' } }, {});
  await d.start('db');
  d.setHealth('db', 'unhealthy');
  assert.equal((await d.list())[0]?.health, 'unhealthy');
  d.oom('db');
  assert.equal((await d.list())[0]?.exitCode, 137);
  await tick();
  assert.deepEqual(events.map((e) => e.action), ['create', 'start', 'health_status', 'oom', 'die']);
  assert.equal(events[2]?.health, 'unhealthy');
});

test('an unavailable daemon fails every call with DOCKER_UNAVAILABLE; watchers hear the outage and the reconnect', async () => {
  const d = new MemoryContainerDriver({ images: [image] });
  const log: string[] = [];
  d.watch(() => {}, (e) => log.push(isGitfleetError(e, 'DOCKER_UNAVAILABLE') ? 'down' : String(e)), () => log.push('connected'));
  await tick();
  d.setAvailable(false);
  await assert.rejects(d.list(), (e: unknown) => isGitfleetError(e, 'DOCKER_UNAVAILABLE'));
  await assert.rejects(d.create('x1', { image }, {}), (e: unknown) => isGitfleetError(e, 'DOCKER_UNAVAILABLE'));
  d.setAvailable(true);
  await tick();
  assert.deepEqual(log, ['connected', 'down', 'connected']);
  await d.ping();
});

test('a reachable registry serves pulls; calls log mutating operations; createBody shows the translated config', async () => {
  const d = new MemoryContainerDriver({ images: [], registry: { 'app:2': 'sha256:two' } });
  assert.equal(await d.ensureImage('app:2', 'missing'), 'sha256:two');
  assert.equal(await d.ensureImage('app:2', 'never'), 'sha256:two');
  d.setRegistryImage('app:2', 'sha256:three');
  assert.equal(await d.ensureImage('app:2', 'missing'), 'sha256:two');
  assert.equal(await d.ensureImage('app:2', 'always'), 'sha256:three');
  await assert.rejects(d.ensureImage('app:9', 'always'), /registry answered: .*manifest unknown/);
  await d.create('app', { image: 'app:2', env: { A: 1 } }, { owner: 'x' });
  await d.start('app');
  await d.remove('app');
  assert.deepEqual(d.calls, ['pull app:2', 'pull app:2', 'pull app:9', 'create app', 'start app', 'remove app']);
  await d.create('app', { image: 'app:2', env: { A: 1 } }, { owner: 'x' });
  assert.deepEqual(d.createBody('app').Env, ['A=1']);
  assert.deepEqual(d.createBody('app').Labels, { owner: 'x' });
});
