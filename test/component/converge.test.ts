// The converge loop with the in-memory drivers: passes, dependencies, the
// health gate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { converge } from '../../agent/engine/converge.ts';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { emptyInventory } from '../../agent/engine/model.ts';
import type { Drivers } from '../../agent/drivers/types.ts';
import { container, desired, file, unit } from '../helpers/desired.ts';

function drivers(): Drivers & { containers: MemoryContainerDriver } {
  return { containers: new MemoryContainerDriver({ images: ['local/busybox:1'] }), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/srv'] }) };
}
const options = { revision: 'r1', settleMs: 50, pollMs: 10, saveInventory: async () => undefined };
const unitText = '[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n';

test('converge: a container that depends on a unit is created in a later pass, after the unit runs', async () => {
  const d = drivers();
  const state = desired([container('web', {}, 'correct', ['unit/app.service']), unit('app.service', { content: unitText }), file('/srv/app.conf')]);
  const result = await converge(d, state, emptyInventory(), options);
  assert.equal(result.converged, true);
  assert.ok(result.passes >= 2, `${result.passes} passes`);
  const order = result.intended.map((l) => l.split(' ')[0]);
  assert.ok(order.indexOf('unit.start') < order.indexOf('container.create'), order.join(', '));
  assert.equal((await d.containers.list())[0]?.state, 'running');
});

test('converge: the health gate does not wait for what cannot be observed (Docker down)', async () => {
  const d = drivers();
  d.containers.setAvailable(false);
  const started = Date.now();
  const result = await converge(d, desired([container('web'), file('/srv/a')]), emptyInventory(), { ...options, healthTimeoutMs: 30_000 });
  // Waiting would take the whole health timeout; half of it is a bound no loaded machine reaches otherwise.
  assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms: it waited for the health timeout`);
  assert.equal(result.statuses.find((s) => s.id === 'container/web')?.health, 'Unknown');
  assert.equal(result.statuses.find((s) => s.id === 'file//srv/a')?.sync, 'InSync', 'the other kinds still converge');
  assert.equal(result.healthy, false);
});

test('converge: an empty desired state against a non-empty inventory is refused unless allowed', async () => {
  const d = drivers();
  const inventory = { version: 1 as const, resources: { 'file//srv/a': { kind: 'file' as const, name: '/srv/a', hash: 'x', revision: 'r0', appliedAt: '' } } };
  await assert.rejects(converge(d, desired([]), inventory, options), /EMPTY_STATE_REFUSED|would remove all 1 managed/);
  const result = await converge(d, desired([], { allowEmpty: true }), inventory, options);
  assert.deepEqual(result.inventory.resources, {});
});
