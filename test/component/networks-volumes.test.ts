// network/NAME and volume/NAME through the engine on the in-memory twin (the
// contract suite keeps it honest against the real engine): create before the
// containers, adopt foreign ones, recreate a changed network only when nothing
// is attached, never recreate a volume, prune networks after their containers
// and volumes only with prune: true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { converge } from '../../agent/engine/converge.ts';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { emptyInventory, type Inventory } from '../../agent/engine/model.ts';
import type { Drivers } from '../../agent/drivers/types.ts';
import type { NetworkResource, NetworkSpec, VolumeResource, VolumeSpec } from '../../shared/resources.ts';
import { container, desired } from '../helpers/desired.ts';

const source = { file: 'test.yaml', line: 1, layer: '' };
const network = (name: string, spec: NetworkSpec = {}): NetworkResource => ({ id: `network/${name}`, kind: 'network', name, spec, drift: 'correct', dependsOn: [], source });
const volume = (name: string, spec: VolumeSpec = {}): VolumeResource => ({ id: `volume/${name}`, kind: 'volume', name, spec, drift: 'correct', dependsOn: [], source });

function setup() {
  const containers = new MemoryContainerDriver({ images: ['local/busybox:1'] });
  const d: Drivers = { containers, units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/srv'] }) };
  let inventory: Inventory = emptyInventory();
  const run = async (resources: Parameters<typeof desired>[0], allowEmpty = false) => {
    containers.calls.length = 0;
    const r = await converge(d, desired(resources, { allowEmpty }), inventory, { revision: 'r1', settleMs: 10, pollMs: 5, saveInventory: async (i) => void (inventory = structuredClone(i)) });
    return { ...r, calls: [...containers.calls] };
  };
  return { containers, run, inventory: () => inventory };
}

const stack = (netSpec: NetworkSpec = {}, volSpec: VolumeSpec = {}) => [
  network('back', netSpec),
  volume('data', volSpec),
  container('app', { command: ['sleep', '1'], networks: ['back'], volumes: ['data:/data'] }, 'correct', ['network/back', 'volume/data']),
];

test('networks and volumes are created before the container; the second converge touches nothing', async () => {
  const s = setup();
  const first = await s.run(stack());
  assert.deepEqual(first.calls, ['create network back', 'create volume data', 'create app', 'start app']);
  assert.ok(first.statuses.every((st) => st.sync === 'InSync'), JSON.stringify(first.statuses));
  assert.deepEqual((await s.run(stack())).calls, []);
});

test('a foreign network or volume of the same name is adopted: used, never changed or pruned', async () => {
  const s = setup();
  await s.containers.networks.create('back', {}, { team: 'legacy' });
  await s.containers.volumes.create('data', {}, {});
  const r = await s.run(stack({ internal: true }));
  assert.deepEqual(r.calls, ['create app', 'start app']);
  assert.match(r.statuses.find((st) => st.id === 'network/back')!.message!, /adopted/);
  const gone = await s.run([], true);
  assert.deepEqual(gone.calls, ['remove app']);
  assert.equal((await s.containers.networks.list()).length, 1);
});

test('a changed network is recreated once nothing is attached; a changed volume is only reported', async () => {
  const s = setup();
  await s.run(stack());
  const changed = await s.run([network('back', { internal: true }), volume('data', { labels: { v: '2' } })]);
  // The container goes first (no longer declared), then the network is recreated with its new config.
  assert.deepEqual(changed.calls, ['remove app', 'remove network back', 'create network back']);
  assert.equal((await s.containers.networks.list())[0]!.internal, true);
  const vol = changed.statuses.find((st) => st.id === 'volume/data')!;
  assert.equal(vol.sync, 'OutOfSync', 'a volume changed in Git');
  assert.match(vol.message!, /never recreated/);
});

test('prune: the network after its containers; the volume only with prune: true', async () => {
  const s = setup();
  await s.run([...stack().slice(0, 2), volume('scratch', { prune: true }), container('app', { networks: ['back'], volumes: ['data:/data', 'scratch:/s'] })]);
  const gone = await s.run([], true);
  assert.deepEqual(gone.calls, ['remove app', 'remove network back', 'remove volume scratch']);
  assert.deepEqual((await s.containers.volumes.list()).map((v) => v.name), ['data']);
  assert.deepEqual(Object.keys(s.inventory().resources), []);
});

test('an inventory that owns networks and volumes survives a restart of the agent (state file schema)', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { StateStore } = await import('../../agent/state/state-store.ts');
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-nv-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = setup();
  await s.run(stack());
  await new StateStore(dir).saveInventory(s.inventory());
  const loaded = await new StateStore(dir).loadInventory();
  assert.deepEqual(Object.keys(loaded.resources).sort(), ['container/app', 'network/back', 'volume/data']);
});
