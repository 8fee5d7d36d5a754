// Compose's `depends_on: {job: {condition: service_completed_successfully}}`
// (docs/compose.md): the job runs once; its dependant is created only after the
// job exited with code 0, and fails with the job's exit code otherwise. The job
// itself is never started again once it has run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { converge } from '../../agent/engine/converge.ts';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { emptyInventory, type Inventory } from '../../agent/engine/model.ts';
import type { Drivers } from '../../agent/drivers/types.ts';
import { loadDesiredState } from '../../repo/tree/index.ts';
import type { DesiredState } from '../../shared/resources.ts';
import { container, desired } from '../helpers/desired.ts';
import { makeTree } from './repo-fixture.ts';

type MemDrivers = Drivers & { containers: MemoryContainerDriver };
const drivers = (): MemDrivers => ({ containers: new MemoryContainerDriver({ images: ['local/busybox:1'] }), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/srv'] }) });

function jobAndApp(): DesiredState {
  const app = { ...container('app', { command: ['httpd', '-f'] }, 'correct', ['container/migrate']), dependsOnCompleted: ['container/migrate' as const] };
  return desired([container('migrate', { command: ['sh', '-c', 'migrate'] }), app]);
}

async function run(d: Drivers, state: DesiredState, inventory: Inventory) {
  let saved = inventory;
  const r = await converge(d, state, inventory, { revision: 'r1', settleMs: 10, pollMs: 5, saveInventory: async (i) => void (saved = structuredClone(i)) });
  return { ...r, saved };
}

test('the loader keeps the condition: a Compose service_completed_successfully dependency is a dependency to complete', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': `services:
  migrate:
    image: local/busybox:1
    command: ["true"]
  cache:
    image: local/busybox:1
  app:
    image: local/busybox:1
    depends_on:
      migrate: { condition: service_completed_successfully }
      cache: { condition: service_started }
`,
    'web-01/host.yaml': '',
  });
  const s = await loadDesiredState(root, { host: 'web-01' });
  const app = s.resources.find((r) => r.id === 'container/app')!;
  assert.deepEqual([...app.dependsOn].filter((d) => d.startsWith('container/')).sort(), ['container/cache', 'container/migrate']);
  assert.deepEqual(app.dependsOnCompleted, ['container/migrate']);
  assert.equal(s.resources.find((r) => r.id === 'container/cache')!.dependsOnCompleted, undefined);
});

test('the dependant waits while the job runs, is created once it exited 0, and the job is not started again', async () => {
  const d = drivers();
  const first = await run(d, jobAndApp(), emptyInventory());
  assert.deepEqual(d.containers.calls.filter((c) => !c.startsWith('pull')), ['create migrate', 'start migrate'], 'the app waits for the job');
  const app = first.statuses.find((s) => s.id === 'container/app')!;
  assert.equal(app.sync, 'Pending');
  assert.match(app.message ?? '', /waiting for container\/migrate/);
  assert.equal(first.statuses.find((s) => s.id === 'container/migrate')!.health, 'Progressing', 'a running job is not done');

  d.containers.exit('migrate', 0);
  d.containers.calls.splice(0);
  const second = await run(d, jobAndApp(), first.saved);
  assert.deepEqual(d.containers.calls.filter((c) => !c.startsWith('pull')), ['create app', 'start app'], 'the job is not started again');
  assert.equal(second.converged, true);
  assert.equal(second.healthy, true);
  const job = second.statuses.find((s) => s.id === 'container/migrate')!;
  assert.deepEqual([job.sync, job.health, job.message], ['InSync', 'Healthy', 'completed (exit code 0)']);

  d.containers.calls.splice(0);
  await run(d, jobAndApp(), second.saved);
  assert.deepEqual(d.containers.calls, [], 'a later reconcile leaves the exited job alone');
});

test('a job that exits non-zero fails its dependant with the exit code, and is not restarted', async () => {
  const d = drivers();
  const first = await run(d, jobAndApp(), emptyInventory());
  d.containers.exit('migrate', 3);
  d.containers.calls.splice(0);
  const second = await run(d, jobAndApp(), first.saved);
  assert.deepEqual(d.containers.calls.filter((c) => !c.startsWith('pull')), []);
  const app = second.statuses.find((s) => s.id === 'container/app')!;
  assert.equal(app.sync, 'Failed');
  assert.match(app.message ?? '', /container\/migrate exited with code 3; container\/app waits for it to complete successfully/);
  const job = second.statuses.find((s) => s.id === 'container/migrate')!;
  assert.deepEqual([job.health, job.message], ['Degraded', 'exited with code 3']);
  assert.equal(second.converged, false);
});

test('with the health gate, one reconcile runs the job, then its dependant', async () => {
  const d = drivers();
  // The job "runs" until the gate's first poll, then exits 0, as a quick migration would.
  const sleep = async () => {
    const job = (await d.containers.list()).find((c) => c.name === 'migrate');
    if (job?.state === 'running') d.containers.exit('migrate', 0);
  };
  let saved: Inventory = emptyInventory();
  const r = await converge(d, jobAndApp(), saved, { revision: 'r1', healthTimeoutMs: 5000, settleMs: 10, pollMs: 5, sleep, saveInventory: async (i) => void (saved = i) });
  assert.equal(r.converged, true, JSON.stringify(r.statuses));
  assert.deepEqual(d.containers.calls.filter((c) => !c.startsWith('pull')), ['create migrate', 'start migrate', 'create app', 'start app']);
});
