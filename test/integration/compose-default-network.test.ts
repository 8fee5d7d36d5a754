// An ordinary two-service Compose file with no `networks` key, converged by the
// agent's engine on a real Docker engine (a private dockerd whose address pool
// is TEST-NET-2, so the network the agent creates stays off private ranges;
// TEST-NET-1 is the machine's own link, which the engine's pool must not overlap):
// both services land on `<project>_default`, `web` resolves and reaches `db`
// by its service name although db's container is called otherwise, and the
// second converge runs no step. Then the move of a running project: what
// `docker-compose -p legacy up -d` left (containers on legacy_default) is
// adopted as it is by a fleet whose Compose file sits in a directory named
// `legacy`: same container ids, same network, nothing created.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { DockerContainerDriver } from '../../agent/drivers/docker/docker-container-driver.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import type { Drivers } from '../../agent/drivers/types.ts';
import { converge } from '../../agent/engine/converge.ts';
import { emptyInventory, type Inventory } from '../../agent/engine/model.ts';
import { loadDesiredState } from '../../repo/tree/index.ts';
import { composeMissing, dockerMissingReason, TEST_IMAGE } from '../harness/docker.ts';
import { PrivateDockerd } from '../harness/private-dockerd.ts';
import { requireComponent } from '../harness/require.ts';
import { writeTree } from '../component/repo-fixture.ts';

const run = promisify(execFile);
const dockerd = new PrivateDockerd(['--default-address-pool', 'base=198.51.100.0/24,size=28']);
const tree = mkdtempSync(join(tmpdir(), 'gitfleet-compose-default-net-'));
let missing: string | null = null;

// What an operator has for `docker compose up`: no networks, db's container named its own way.
const composeYaml = `services:
  web:
    image: ${TEST_IMAGE}
    command: ["sleep", "3600"]
    init: true
    depends_on: [db]
  db:
    image: ${TEST_IMAGE}
    container_name: shop-db-main
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo db-answers > /www/index.html && exec httpd -f -p 8080 -h /www"]
`;

before(async () => {
  missing = await dockerMissingReason();
  if (missing) return;
  await dockerd.start();
  await dockerd.copyImage(TEST_IMAGE);
  writeTree(tree, { 'shop/compose.yaml': composeYaml, 'shop/h1/host.yaml': 'allowEmpty: true\n' });
});

/** The operator's file as `docker-compose` ran it, and the same services as the fleet declares them (their current container names). */
const legacyCompose = (containerNames: boolean) => `services:
  web:
    image: ${TEST_IMAGE}
${containerNames ? '    container_name: legacy_web_1\n' : ''}    command: ["sleep", "3600"]
    init: true
  db:
    image: ${TEST_IMAGE}
${containerNames ? '    container_name: legacy_db_1\n' : ''}    init: true
    command: ["sh", "-c", "mkdir -p /www && echo legacy-db > /www/index.html && exec httpd -f -p 8080 -h /www"]
`;

after(async () => {
  await dockerd.dispose().catch(() => undefined);
  rmSync(tree, { recursive: true, force: true });
});

test('services without networks share <project>_default and reach each other by service name; the second converge is a no-op', async (t) => {
  if (!requireComponent(t, 'Docker engine', missing)) return;
  const drivers: Drivers = { containers: new DockerContainerDriver({ socketPath: dockerd.socket }), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/var/lib/gitfleet/compose'] }) };
  let inventory: Inventory = emptyInventory();
  const options = { revision: 'r1', settleMs: 200, pollMs: 100, healthTimeoutMs: 30_000, saveInventory: async (i: Inventory) => void (inventory = structuredClone(i)) };

  const desired = await loadDesiredState(tree, { host: 'h1' });
  assert.deepEqual(desired.resources.map((r) => r.id).sort(), ['container/shop-db-main', 'container/web', 'network/shop_default']);
  const first = await converge(drivers, desired, inventory, options);
  assert.equal(first.failures.length, 0, JSON.stringify(first.failures));
  assert.ok(first.statuses.every((s) => s.sync === 'InSync'), JSON.stringify(first.statuses));

  const docker = new Dockerode({ socketPath: dockerd.socket });
  const net = await docker.getNetwork('shop_default').inspect();
  assert.equal(net.Labels?.['io.gitfleet.managed-by'], 'gitfleet', 'the agent created the default network');
  assert.match(net.IPAM?.Config?.[0]?.Subnet ?? '', /^198\.51\.100\./);
  const db = await docker.getContainer('shop-db-main').inspect();
  assert.deepEqual(Object.keys(db.NetworkSettings.Networks), ['shop_default']);
  assert.ok(db.NetworkSettings.Networks.shop_default?.Aliases?.includes('db'), 'db joined with its service name as an alias');

  // From inside web: the name `db` resolves (the engine's DNS) and its HTTP server answers; httpd may need a moment.
  // (No wget -T: the image's static busybox wget crashes with it.)
  // A name the engine's DNS does not know is forwarded upstream, which this machine does not answer: bounded by timeouts.
  let answer = '';
  for (const deadline = Date.now() + 30_000; answer === '' && Date.now() < deadline; ) {
    answer = await run('docker', ['-H', `unix://${dockerd.socket}`, 'exec', 'web', 'wget', '-q', '-O-', 'http://db:8080/'], { timeout: 5_000 }).then((r) => r.stdout.trim(), () => '');
    if (answer === '') await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(answer, 'db-answers', 'web reached db by its service name');
  const lookup = await run('docker', ['-H', `unix://${dockerd.socket}`, 'exec', 'web', 'busybox', 'nslookup', 'db'], { timeout: 10_000 });
  assert.match(lookup.stdout, new RegExp(db.NetworkSettings.Networks.shop_default!.IPAddress.replaceAll('.', '\\.')));

  const steps: string[] = [];
  const second = await converge(drivers, await loadDesiredState(tree, { host: 'h1' }), inventory, { ...options, onStep: (r) => steps.push(`${r.step.type} ${r.step.resource ?? ''}`) });
  assert.deepEqual(steps, [], 'the second converge runs no step');
  assert.deepEqual([second.intended, second.driftCorrected], [[], []]);
});

test('a running Compose project without networks is adopted as it is: its containers and <project>_default are kept', async (t) => {
  if (!requireComponent(t, 'Docker engine and docker-compose', missing ?? (await composeMissing()))) return;
  const docker = new Dockerode({ socketPath: dockerd.socket });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', DOCKER_HOST: `unix://${dockerd.socket}` };
  const project = join(tree, '..', `${tree.split('/').pop()!}-legacy-src`);
  mkdirSync(project, { recursive: true });
  t.after(() => rmSync(project, { recursive: true, force: true }));
  writeFileSync(join(project, 'docker-compose.yml'), legacyCompose(false));
  await run('docker-compose', ['-p', 'legacy', 'up', '-d'], { cwd: project, env });
  const before = { web: (await docker.getContainer('legacy_web_1').inspect()).Id, db: (await docker.getContainer('legacy_db_1').inspect()).Id, net: (await docker.getNetwork('legacy_default').inspect()).Id };

  // The fleet: the same file in a directory named after the project, the running names kept, adoption on.
  writeTree(tree, { 'legacy/compose.yaml': legacyCompose(true), 'legacy/h2/host.yaml': 'adopt: true\n' });
  const drivers: Drivers = { containers: new DockerContainerDriver({ socketPath: dockerd.socket }), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/var/lib/gitfleet/compose'] }) };
  let inventory: Inventory = emptyInventory();
  const options = { revision: 'r1', settleMs: 200, pollMs: 100, healthTimeoutMs: 30_000, saveInventory: async (i: Inventory) => void (inventory = structuredClone(i)) };
  const steps: string[] = [];
  const first = await converge(drivers, await loadDesiredState(tree, { host: 'h2' }), inventory, { ...options, onStep: (r) => steps.push(`${r.step.type} ${r.step.resource ?? ''}`) });
  assert.equal(first.failures.length, 0, JSON.stringify(first.failures));
  assert.deepEqual(steps, [], 'nothing created or recreated');
  assert.deepEqual([...first.adopted].sort(), ['container/legacy_db_1', 'container/legacy_web_1']);
  // A network the agent did not create is used as it is, never changed or removed (docs/compose.md).
  const net = first.statuses.find((x) => x.id === 'network/legacy_default');
  assert.equal(net?.adoption, 'Adopted', JSON.stringify(net));
  const after = { web: (await docker.getContainer('legacy_web_1').inspect()).Id, db: (await docker.getContainer('legacy_db_1').inspect()).Id, net: (await docker.getNetwork('legacy_default').inspect()).Id };
  assert.deepEqual(after, before, 'the same containers and network');
  const answer = await run('docker', ['-H', `unix://${dockerd.socket}`, 'exec', 'legacy_web_1', 'wget', '-q', '-O-', 'http://db:8080/'], { timeout: 10_000 });
  assert.equal(answer.stdout.trim(), 'legacy-db');

  const again: string[] = [];
  await converge(drivers, await loadDesiredState(tree, { host: 'h2' }), inventory, { ...options, onStep: (r) => again.push(`${r.step.type} ${r.step.resource ?? ''}`) });
  assert.deepEqual(again, [], 'the second converge runs no step');
});
