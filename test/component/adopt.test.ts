// Adoption (docs/adopt.md) with the in-memory drivers: what runs on a host
// that the agent did not create is taken over as it is when it matches its
// declaration (no create, remove, write, reload or restart: the drivers' call
// logs stay empty), replaced or rewritten with the reason when it does not, and
// recreated with the agent's labels only when its declaration changes later.
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { converge, type ConvergeOptions } from '../../agent/engine/converge.ts';
import { observe } from '../../agent/engine/observe.ts';
import { plan } from '../../agent/engine/planner.ts';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { emptyInventory, type Inventory } from '../../agent/engine/model.ts';
import { containerLabels, type Drivers } from '../../agent/drivers/types.ts';
import type { ContainerSpec, DesiredState } from '../../shared/resources.ts';
import { StateStore } from '../../agent/state/state-store.ts';
import { container, desired, file, unit } from '../helpers/desired.ts';

type MemDrivers = Drivers & { containers: MemoryContainerDriver; units: MemoryUnitDriver; files: MemoryFileDriver };

const webSpec: ContainerSpec = {
  image: 'local/busybox:1',
  command: ['httpd', '-f', '-p', '8080'],
  environment: { MODE: 'prod', DB_PASSWORD: 'hunter2' },
  ports: ['8080:8080'],
  restart: 'unless-stopped',
  healthcheck: { test: ['CMD', 'true'], interval: '5s', retries: 3 },
};
const workerSpec: ContainerSpec = { image: 'local/busybox:1', command: ['sleep', '3600'], volumes: ['data:/data'], environment: { QUEUE: 'jobs' } };
const unitText = '[Unit]\nDescription=app\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n';
const dropin = '[Service]\nEnvironment=LEVEL=debug\n';

/** A host built by hand: two containers (one from a Compose project), a unit with a drop-in, a config file. */
async function handBuiltHost(): Promise<MemDrivers> {
  const d: MemDrivers = { containers: new MemoryContainerDriver({ images: ['local/busybox:1'] }), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/etc'] }) };
  await d.containers.create('web', webSpec, {});
  await d.containers.start('web');
  d.containers.setHealth('web', 'healthy');
  await d.containers.create('shop-worker-1', workerSpec, { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'worker', 'com.docker.compose.config-hash': 'abc' });
  await d.containers.start('shop-worker-1');
  d.units.hand.edit('app.service', unitText);
  d.units.hand.dropin('app.service', 'override.conf', dropin);
  await d.units.daemonReload();
  await d.units.enable('app.service');
  await d.units.start('app.service');
  await d.files.write('/etc/app.conf', { content: 'port=8080\n', mode: '0644' });
  clearCalls(d);
  return d;
}

function clearCalls(d: MemDrivers): void {
  d.containers.calls.splice(0);
  d.units.calls.splice(0);
  d.files.calls.splice(0);
}

const callsOf = (d: MemDrivers) => [...d.containers.calls, ...d.units.calls, ...d.files.calls];

function declared(extra: Partial<DesiredState> = { adopt: true }, web: ContainerSpec = webSpec): DesiredState {
  return desired(
    [
      container('web', web),
      container('shop-worker-1', workerSpec),
      unit('app.service', { content: unitText, dropins: { 'override.conf': dropin } }),
      file('/etc/app.conf', { content: 'port=8080\n', mode: '0644' }),
    ],
    extra,
  );
}

function run(d: Drivers, state: DesiredState, inventory: Inventory, extra: Partial<ConvergeOptions> = {}) {
  let saved = inventory;
  return converge(d, state, inventory, { revision: 'r1', settleMs: 10, pollMs: 5, saveInventory: async (i) => void (saved = structuredClone(i)), ...extra }).then((r) => ({ ...r, saved }));
}

test('without adoption a container the agent did not create is a NAME_CONFLICT, left alone, and the status says how to adopt it', async () => {
  const d = await handBuiltHost();
  const r = await run(d, declared({}), emptyInventory());
  const web = r.statuses.find((s) => s.id === 'container/web')!;
  assert.equal(web.sync, 'Failed');
  assert.match(web.message ?? '', /NAME_CONFLICT/);
  assert.match(web.message ?? '', /adopt: true/);
  assert.deepEqual(d.containers.calls, [], 'no container touched');
});

test('adopt: true takes a matching host over as it is: nothing created, removed, written, reloaded or restarted', async () => {
  const d = await handBuiltHost();
  const before = new Map((await d.containers.list()).map((c) => [c.name, c.id]));
  const r = await run(d, declared(), emptyInventory());
  assert.deepEqual(callsOf(d), [], `mutating calls: ${callsOf(d).join(', ')}`);
  assert.equal(r.converged, true);
  assert.equal(r.healthy, true, JSON.stringify(r.statuses.filter((s) => s.health !== 'Healthy')));
  for (const s of r.statuses) {
    assert.equal(s.sync, 'InSync', `${s.id}: ${s.message}`);
    assert.equal(s.adoption, 'Adopted', s.id);
  }
  assert.deepEqual([...r.adopted].sort(), ['container/shop-worker-1', 'container/web', 'file//etc/app.conf', 'unit/app.service']);
  // The inventory knows them as adopted; the containers by the id their inspection matched.
  assert.equal(r.saved.resources['container/web']?.adopted?.containerId, before.get('web'));
  assert.ok(r.saved.resources['container/web']?.adopted?.configHash);
  assert.deepEqual(r.saved.resources['unit/app.service']?.adopted !== undefined, true);
  assert.deepEqual(new Map((await d.containers.list()).map((c) => [c.name, c.id])), before, 'same container ids');
  // The containers keep their labels as they were: none of ours.
  for (const c of await d.containers.list()) assert.equal(c.labels[containerLabels.managedBy], undefined);

  // The next reconcile and a plan: nothing to do, nothing new to adopt, still said to be adopted.
  const again = await run(d, declared(), r.saved);
  assert.deepEqual(callsOf(d), []);
  assert.deepEqual(again.adopted, []);
  assert.ok(again.statuses.every((s) => s.adoption === 'Adopted'));
  const live = await observe(d, declared(), again.saved);
  const p = plan(declared(), live, again.saved, { revision: 'r1', suppressed: new Map(), defaultStopTimeout: 10, adopt: true });
  assert.deepEqual(p.steps, []);
  assert.equal([...p.adoptions.values()].filter((a) => a.pending).length, 0);
});

test('a plan before adoption has no steps and names every pending adoption', async () => {
  const d = await handBuiltHost();
  const live = await observe(d, declared(), emptyInventory());
  const p = plan(declared(), live, emptyInventory(), { revision: 'r1', suppressed: new Map(), defaultStopTimeout: 10, adopt: true });
  assert.deepEqual(p.steps, []);
  assert.deepEqual([...p.adoptions].filter(([, a]) => a.pending).map(([id]) => id).sort(), ['container/shop-worker-1', 'container/web', 'file//etc/app.conf', 'unit/app.service']);
});

test('the agent option (adopt without host.yaml) adopts the same way', async () => {
  const d = await handBuiltHost();
  const r = await run(d, declared({}), emptyInventory(), { adopt: true });
  assert.deepEqual(callsOf(d), []);
  assert.equal(r.adopted.length, 4);
});

test('after adoption, a changed declaration recreates only that container, now with the agent labels', async () => {
  const d = await handBuiltHost();
  const first = await run(d, declared(), emptyInventory());
  const workerId = (await d.containers.list()).find((c) => c.name === 'shop-worker-1')!.id;
  const changed = declared({ adopt: true }, { ...webSpec, environment: { ...webSpec.environment, MODE: 'canary' } });
  const r = await run(d, changed, first.saved);
  assert.deepEqual(d.units.calls, []);
  assert.deepEqual(d.files.calls, []);
  assert.deepEqual(d.containers.calls.filter((c) => !c.startsWith('pull')), ['remove web', 'create web', 'start web']);
  const after = await d.containers.list();
  assert.equal(after.find((c) => c.name === 'shop-worker-1')!.id, workerId, 'the other container is the same');
  const web = after.find((c) => c.name === 'web')!;
  assert.equal(web.labels[containerLabels.managedBy], 'gitfleet');
  assert.equal(r.saved.resources['container/web']?.adopted, undefined, 'the agent owns it now');
  assert.equal(r.statuses.find((s) => s.id === 'container/web')?.adoption, undefined);
  assert.equal(r.statuses.find((s) => s.id === 'container/shop-worker-1')?.adoption, 'Adopted');
});

test('a changed run state of an adopted container stops it, without a recreate', async () => {
  const d = await handBuiltHost();
  const first = await run(d, declared(), emptyInventory());
  const stopped = declared({ adopt: true }, { ...webSpec, state: 'stopped' });
  const r = await run(d, stopped, first.saved);
  assert.deepEqual(d.containers.calls, ['stop web']);
  assert.equal(r.saved.resources['container/web']?.adopted?.containerId, first.saved.resources['container/web']?.adopted?.containerId);
});

test('a container that differs from its declaration is replaced, and the status names the keys (never env values)', async () => {
  const d = await handBuiltHost();
  const state = declared({ adopt: true }, { ...webSpec, image: 'local/busybox:2', environment: { ...webSpec.environment, DB_PASSWORD: 'other-secret' } });
  d.containers.addImage('local/busybox:2');
  const live = await observe(d, state, emptyInventory());
  const p = plan(state, live, emptyInventory(), { revision: 'r1', suppressed: new Map(), defaultStopTimeout: 10, adopt: true });
  const web = p.statuses.find((s) => s.id === 'container/web')!;
  assert.equal(web.adoption, 'Replace');
  assert.deepEqual(web.diff.map((x) => x.field), ['image', 'environment']);
  assert.deepEqual(web.diff[1], { field: 'environment', desired: 'as declared', live: 'differs: DB_PASSWORD' });
  assert.doesNotMatch(JSON.stringify(p.statuses), /hunter2|other-secret/, 'no environment value in a status');
  const steps = p.steps.filter((s) => s.resource === 'container/web');
  assert.deepEqual(steps.map((s) => s.type), ['container.pull', 'container.remove', 'container.create']);
  assert.equal(steps[0]!.reason, 'adopt: replace (differs: image, environment)');
  assert.equal(p.steps.filter((s) => s.resource !== 'container/web').length, 0, 'the rest is adopted as it is');
  const r = await run(d, state, emptyInventory());
  assert.equal(r.converged, true);
  assert.ok(!r.adopted.includes('container/web'));
  assert.equal((await d.containers.list()).find((c) => c.name === 'web')!.labels[containerLabels.managedBy], 'gitfleet');
});

test('a unit written by hand that differs is rewritten (status Rewrite); one that matches is not', async () => {
  const d = await handBuiltHost();
  d.units.hand.edit('other.service', '[Service]\nExecStart=/bin/sleep 1\n');
  await d.units.daemonReload();
  clearCalls(d);
  const state = desired([unit('app.service', { content: unitText, dropins: { 'override.conf': dropin } }), unit('other.service', { content: '[Service]\nExecStart=/bin/sleep infinity\n' })], { adopt: true });
  const live = await observe(d, state, emptyInventory());
  const p = plan(state, live, emptyInventory(), { revision: 'r1', suppressed: new Map(), defaultStopTimeout: 10, adopt: true });
  assert.equal(p.statuses.find((s) => s.id === 'unit/other.service')?.adoption, 'Rewrite');
  assert.match(p.statuses.find((s) => s.id === 'unit/other.service')?.message ?? '', /adopt: rewrite \(differs: content/);
  assert.equal(p.statuses.find((s) => s.id === 'unit/app.service')?.adoption, 'Adopted');
  assert.deepEqual(p.steps.filter((s) => s.resource === 'unit/app.service'), []);
});

test('a file that differs is rewritten; a mode difference of a matching file only sets the mode', async () => {
  const d = await handBuiltHost();
  d.files.hand.write('/etc/other.conf', 'old\n');
  await d.files.write('/etc/moded.conf', { content: 'same\n', mode: '0600' });
  clearCalls(d);
  const state = desired([file('/etc/other.conf', { content: 'new\n' }), file('/etc/moded.conf', { content: 'same\n', mode: '0644' })], { adopt: true });
  const r = await run(d, state, emptyInventory());
  assert.deepEqual(d.files.calls.map((c) => c.split(' ')[0]).sort(), ['attributes', 'write'], d.files.calls.join(', '));
  assert.deepEqual(r.adopted, ['file//etc/moded.conf']);
});

test('an adopted container is the agent own: pruned when no longer declared', async () => {
  const d = await handBuiltHost();
  const first = await run(d, declared(), emptyInventory());
  const without = desired(declared().resources.filter((x) => x.id !== 'container/web'), { adopt: true });
  await run(d, without, first.saved);
  assert.deepEqual(d.containers.calls, ['remove web']);
});

test('adoption survives an agent restart: the inventory file keeps what was adopted', async () => {
  const d = await handBuiltHost();
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-adopt-state-'));
  try {
    const first = await run(d, declared(), emptyInventory());
    await new StateStore(dir).saveInventory(first.saved);
    const reloaded = await new StateStore(dir).loadInventory();
    assert.deepEqual(reloaded.resources['container/web']?.adopted, first.saved.resources['container/web']?.adopted);
    const again = await run(d, declared(), reloaded);
    assert.deepEqual(callsOf(d), [], 'nothing recreated after a restart');
    assert.equal(again.converged, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
