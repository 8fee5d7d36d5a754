// A Compose stack (a user-defined network with an alias, named volumes, a
// healthcheck gating depends_on) converged by the agent's engine on the real
// Docker engine: everything is created from nothing, the second converge is a
// no-op (no step at all), and removing the stack prunes containers and the
// network but keeps the volume (no prune: true).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DockerContainerDriver } from '../../agent/drivers/docker/docker-container-driver.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import type { Drivers } from '../../agent/drivers/types.ts';
import { converge } from '../../agent/engine/converge.ts';
import { emptyInventory, type Inventory } from '../../agent/engine/model.ts';
import { loadDesiredState } from '../../repo/tree/index.ts';
import { DockerTestHarness, dockerMissingReason, TEST_IMAGE, TEST_LABEL } from '../harness/docker.ts';
import { requireComponent } from '../harness/require.ts';

const harness = new DockerTestHarness();
const p = `gft-${harness.runId}`;
const tree = mkdtempSync(join(tmpdir(), 'gitfleet-compose-converge-'));

after(async () => {
  await harness.cleanup().catch(() => {});
  for (const v of [`${p}-dbdata`, `${p}-cache`]) await harness.docker.getVolume(v).remove().catch(() => {});
  rmSync(tree, { recursive: true, force: true });
});

function writeStack(withServices: boolean): void {
  mkdirSync(join(tree, 'h1'), { recursive: true });
  writeFileSync(join(tree, 'h1', 'host.yaml'), 'allowEmpty: true\n');
  writeFileSync(join(tree, '.env'), `P=${p}\n`);
  const services = `
services:
  db:
    image: ${TEST_IMAGE}
    container_name: \${P}-db
    command: ["sleep", "3600"]
    init: true
    labels: { ${TEST_LABEL}: ${harness.runId} }
    volumes: [dbdata:/data]
    networks:
      backend:
        aliases: [database]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      retries: 3
  web:
    image: ${TEST_IMAGE}
    container_name: \${P}-web
    command: ["sleep", "3600"]
    init: true
    labels: { ${TEST_LABEL}: ${harness.runId} }
    environment: { DB_HOST: database }
    volumes: ["cache:/cache"]
    networks: [backend]
    depends_on:
      db: { condition: service_healthy }
`;
  const top = `
networks:
  backend:
    name: \${P}-net
    labels: { ${TEST_LABEL}: ${harness.runId} }
volumes:
  dbdata: { name: "\${P}-dbdata" }
  cache: { name: "\${P}-cache" }
`;
  writeFileSync(join(tree, 'compose.yaml'), withServices ? services + top : 'services: {}\n');
}

test('a Compose stack converges on the real engine, its second converge is a no-op, and removal keeps the volumes', async (t) => {
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  const drivers: Drivers = { containers: new DockerContainerDriver(), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/var/lib/gitfleet/compose'] }) };
  let inventory: Inventory = emptyInventory();
  const options = { revision: 'r1', settleMs: 200, pollMs: 100, healthTimeoutMs: 30_000, saveInventory: async (i: Inventory) => void (inventory = structuredClone(i)) };

  writeStack(true);
  const desired = await loadDesiredState(tree, { host: 'h1' });
  assert.deepEqual(desired.resources.map((r) => r.id), [`network/${p}-net`, `volume/${p}-cache`, `volume/${p}-dbdata`, `container/${p}-db`, `container/${p}-web`]);
  const first = await converge(drivers, desired, inventory, options);
  assert.equal(first.failures.length, 0, JSON.stringify(first.failures));
  assert.ok(first.statuses.every((s) => s.sync === 'InSync' && s.health === 'Healthy'), JSON.stringify(first.statuses));
  const web = await harness.docker.getContainer(`${p}-web`).inspect();
  const db = await harness.docker.getContainer(`${p}-db`).inspect();
  assert.deepEqual(Object.keys(web.NetworkSettings.Networks), [`${p}-net`]);
  assert.ok(db.NetworkSettings.Networks[`${p}-net`]?.Aliases?.includes('database'), 'db joined the network with its alias');
  assert.ok(db.Mounts.some((m) => m.Name === `${p}-dbdata` && m.Destination === '/data'));
  assert.ok(Date.parse(db.State.StartedAt) <= Date.parse(web.State.StartedAt), 'web started after db was healthy');

  const steps: string[] = [];
  const second = await converge(drivers, await loadDesiredState(tree, { host: 'h1' }), inventory, { ...options, onStep: (r) => steps.push(r.step.type) });
  assert.deepEqual(steps, [], 'the second converge runs no step');
  assert.deepEqual([second.intended, second.driftCorrected], [[], []]);

  writeStack(false);
  const removed = await converge(drivers, await loadDesiredState(tree, { host: 'h1' }), inventory, options);
  assert.equal(removed.failures.length, 0, JSON.stringify(removed.failures));
  const nets = await harness.docker.listNetworks({ filters: JSON.stringify({ name: [`${p}-net`] }) });
  assert.equal(nets.length, 0, 'the network was pruned');
  await harness.docker.getVolume(`${p}-dbdata`).inspect(); // still there: volumes are pruned only with prune: true
  assert.equal(inventory.resources[`volume/${p}-dbdata`], undefined, 'the kept volume is no longer the agent’s to manage');
});
