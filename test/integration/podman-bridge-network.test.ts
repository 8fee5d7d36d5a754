// The agent on Podman with a bridge network: a `network/…` resource and two
// containers on it, one serving HTTP with a published port, the other reaching
// it by its network alias. Podman runs privately inside a network namespace
// this test makes (its bridge, iptables rules and dnsmasq live there), with
// bridge subnets from TEST-NET-1 (test/env/podman/containers-testnet.conf):
// the machine's own link is in that range in the root namespace, where Podman
// would refuse to overlap it. The agent's real reconcile reaches the API
// socket from here. Names resolve through the CNI `dnsname` plugin (Debian
// package golang-github-containernetworking-plugin-dnsname; docs/edge.md).
// Also: aliases on a network without DNS are refused with the reason, a
// Compose project's services reach each other by service name on Podman, and
// a container `podman run` put on a bridge network is adopted as it is.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { DockerContainerDriver } from '../../agent/drivers/docker/docker-container-driver.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { converge } from '../../agent/engine/converge.ts';
import { emptyInventory, type Inventory } from '../../agent/engine/model.ts';
import { loadDesiredState } from '../../repo/tree/index.ts';
import { writeTree } from '../component/repo-fixture.ts';
import { gitfleet } from '../helpers/gitfleet-cli.ts';
import { parse } from 'yaml';
import { isGitfleetError } from '../../shared/errors.ts';
import { TEST_IMAGE } from '../harness/docker.ts';
import { podmanMissingReason } from '../harness/podman.ts';
import { PrivatePodman } from '../harness/private-podman.ts';
import { requireComponent } from '../harness/require.ts';
import { missingGitServer } from '../harness/git-servers.ts';
import { fleetFixture, type FleetFixture } from '../helpers/agent-fixture.ts';

const suffix = Math.random().toString(36).slice(2, 8);
// The network's name is global on the machine (CNI keeps per-network state under /var/lib/cni and /run/containers/cni).
const net = `gfpn-${suffix}`;
const alias = 'shop-db';
const published = 8081;
let podman: PrivatePodman | null = null;
let docker: Dockerode;
let fleet: FleetFixture | null = null;
let missing: string | null = null;

function componentsMissing(): string | null {
  if (process.getuid?.() !== 0) return 'network namespaces and rootful Podman need root';
  if (!['/usr/sbin/ip', '/usr/bin/ip', '/sbin/ip'].some((p) => existsSync(p))) return 'ip is missing (iproute2)';
  if (!['/usr/sbin/iptables', '/sbin/iptables'].some((p) => existsSync(p))) return 'iptables is missing (the CNI bridge and portmap plugins need it)';
  if (!existsSync('/usr/bin/nsenter')) return 'nsenter is missing (util-linux)';
  if (!existsSync('/usr/lib/cni/dnsname')) return 'the CNI dnsname plugin is missing (golang-github-containernetworking-plugin-dnsname)';
  return null;
}

before(async () => {
  missing = componentsMissing() ?? (await podmanMissingReason()) ?? missingGitServer('daemon');
  if (missing !== null) return;
  podman = new PrivatePodman({ netns: `gfpn-${suffix}` });
  await podman.start();
  await podman.copyImage(TEST_IMAGE);
  docker = new Dockerode({ socketPath: podman.socket });
  fleet = await fleetFixture({ config: { docker: { socket: podman.socket } } });
});
after(async () => {
  fleet?.dispose();
  await podman?.dispose();
});

function declare(): void {
  const common = { image: TEST_IMAGE, init: true, stop_grace_period: '1s', depends_on: [`network/${net}`] };
  fleet!.commit({
    networks: { [net]: { driver: 'bridge' } },
    containers: {
      web: {
        ...common, env: { ANSWER: 'web-answers' }, ports: [`${published}:8080`], networks: { [net]: { aliases: [alias] } },
        command: ['sh', '-c', 'mkdir -p /srv && echo "$ANSWER" > /srv/index.html && exec httpd -f -p 8080 -h /srv'],
      },
      client: { ...common, command: ['sleep', '3600'], networks: [net] },
    },
  }, 'bridge network on podman');
}

const ids = async () => ({ web: (await docker.getContainer('web').inspect()).Id, client: (await docker.getContainer('client').inspect()).Id });

/** What `client` gets from http://shop-db:8080/ (retried: httpd and dnsmasq may need a moment). */
async function fromClientByAlias(): Promise<string> {
  let answer = '';
  let last = '';
  // No wget -T: the image's static busybox wget crashes with it; the exec's own timeout bounds each try.
  for (const deadline = Date.now() + 30_000; answer === '' && Date.now() < deadline; ) {
    answer = await podman!.podman(['exec', 'client', 'wget', '-q', '-O-', `http://${alias}:8080/`], 5_000).catch((e: Error) => ((last = e.message), ''));
    if (answer === '') await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(answer, 'web-answers', `client reached web by its alias (last error: ${last})`);
  return answer;
}

/** What a client on the host side (inside the namespace) gets from the published port at ADDRESS. */
function fromHostSide(address: string): Promise<string> {
  return fromHostSideAt(address, published);
}

async function fromHostSideAt(address: string, port: number): Promise<string> {
  const script = `fetch('http://${address}:${port}/').then(async (r) => process.stdout.write(await r.text()), (e) => { console.error(String(e.cause ?? e)); process.exit(1); })`;
  return podman!.inNetns(process.execPath, ['-e', script]);
}

test('a bridge network, an alias and a published port converge on Podman; the alias resolves and both ways answer', async (t) => {
  if (!requireComponent(t, 'Podman with bridge networks (ip, iptables, dnsname) and git', missing)) return;
  declare();
  const started = performance.now();
  const outcome = await fleet!.run('startup');
  t.diagnostic(`first converge (network + 2 containers): ${Math.round(performance.now() - started)} ms`);
  assert.equal(outcome.result, 'Succeeded', outcome.message);

  const network = await docker.getNetwork(net).inspect() as { Labels?: Record<string, string>; Internal?: boolean; IPAM?: { Config?: { Subnet?: string }[] } };
  assert.equal(network.Labels?.['io.gitfleet.managed-by'], 'gitfleet', 'the agent created the network');
  assert.equal(network.Internal, false);
  assert.match(network.IPAM?.Config?.[0]?.Subnet ?? '', /^192\.0\.2\./, 'the subnet comes from TEST-NET-1');
  const cni = JSON.parse(await podman!.podman(['network', 'inspect', net])) as { driver: string; dns_enabled: boolean }[];
  assert.deepEqual([cni[0]?.driver, cni[0]?.dns_enabled], ['bridge', true], 'a bridge with name resolution (dnsname)');

  const web = await docker.getContainer('web').inspect();
  assert.equal(web.State.Running, true);
  const endpoint = web.NetworkSettings.Networks[net];
  assert.ok(endpoint?.Aliases?.includes(alias), JSON.stringify(endpoint));
  assert.match(endpoint?.IPAddress ?? '', /^192\.0\.2\./);
  assert.deepEqual(web.NetworkSettings.Ports['8080/tcp']?.map((b) => b.HostPort), [String(published)]);
  assert.equal((await docker.getContainer('client').inspect()).State.Running, true);

  // (a) the alias resolves to web's address and web answers, from the other container.
  await fromClientByAlias();
  const lookup = await podman!.podman(['exec', 'client', 'busybox', 'nslookup', alias], 10_000);
  assert.ok(lookup.includes(endpoint!.IPAddress), lookup);
  // (b) the published port answers on the host side: loopback and the bridge's gateway.
  assert.equal((await fromHostSide('127.0.0.1')).trim(), 'web-answers');
  assert.equal((await fromHostSide(endpoint!.Gateway)).trim(), 'web-answers');
});

test('the next pass on Podman changes nothing, also after an agent restart', async (t) => {
  if (!requireComponent(t, 'Podman with bridge networks (ip, iptables, dnsname) and git', missing)) return;
  const before = await ids();
  const networkId = (await docker.getNetwork(net).inspect()).Id;
  assert.equal((await fleet!.run('poll')).result, 'NoChange');
  await fleet!.agent();
  assert.equal((await fleet!.run('drift-check')).result, 'NoChange');
  assert.deepEqual(await ids(), before, 'no container recreated');
  assert.equal((await docker.getNetwork(net).inspect()).Id, networkId, 'the network kept');
});

test('a container removed with podman rm -f comes back on its network, alias and published port working again', async (t) => {
  if (!requireComponent(t, 'Podman with bridge networks (ip, iptables, dnsname) and git', missing)) return;
  const before = await ids();
  await podman!.podman(['rm', '--force', '--time', '0', 'web']);
  const started = performance.now();
  const outcome = await fleet!.run('docker-event');
  t.diagnostic(`web put back: ${Math.round(performance.now() - started)} ms`);
  assert.equal(outcome.result, 'Succeeded', outcome.message);
  const now = await ids();
  assert.notEqual(now.web, before.web, 'web is a new container');
  assert.equal(now.client, before.client, 'client untouched');
  const web = await docker.getContainer('web').inspect();
  assert.ok(web.NetworkSettings.Networks[net]?.Aliases?.includes(alias), JSON.stringify(web.NetworkSettings.Networks));
  await fromClientByAlias();
  assert.equal((await fromHostSide('127.0.0.1')).trim(), 'web-answers');
});

test('aliases on a Podman network without name resolution are refused with the reason; without aliases the container is made', async (t) => {
  if (!requireComponent(t, 'Podman with bridge networks (ip, iptables, dnsname) and git', missing)) return;
  // What a network made before the dnsname plugin was installed looks like.
  const plain = `gfpn-${suffix}-nodns`;
  await podman!.podman(['network', 'create', '--disable-dns', plain]);
  const driver = new DockerContainerDriver({ socketPath: podman!.socket });
  const labels = { 'io.gitfleet.managed-by': 'gitfleet' };
  await assert.rejects(driver.create('lonely', { image: TEST_IMAGE, command: ['sleep', '3600'], networks: { [plain]: { aliases: ['lonely-db'] } } }, labels), (e: unknown) => {
    assert.ok(isGitfleetError(e) && e.code === 'DOCKER_FAILED', String(e));
    assert.match(e.message, new RegExp(`network ${plain} on Podman has no name resolution .*lonely-db.*golang-github-containernetworking-plugin-dnsname`));
    return true;
  });
  assert.equal(await driver.inspect('lonely'), null, 'nothing was created');
  const id = await driver.create('lonely', { image: TEST_IMAGE, command: ['sleep', '3600'], networks: [plain] }, labels);
  assert.ok((await driver.inspect(id))?.name === 'lonely');
});

test('a Compose project without networks on Podman: both services on <project>_default, one reaches the other by its service name', async (t) => {
  if (!requireComponent(t, 'Podman with bridge networks (ip, iptables, dnsname) and git', missing)) return;
  const tree = mkdtempSync(join(tmpdir(), 'gitfleet-podman-compose-'));
  t.after(() => rmSync(tree, { recursive: true, force: true }));
  // The project's name is the directory's; its default network's name is global on the machine, like `net`.
  const project = `gfpc${suffix}`;
  writeTree(tree, {
    [`${project}/compose.yaml`]: `services:
  web:
    image: ${TEST_IMAGE}
    container_name: compose-web
    command: ["sleep", "3600"]
    init: true
  db:
    image: ${TEST_IMAGE}
    container_name: shop-db-main
    init: true
    command: ["sh", "-c", "mkdir -p /srv && echo db-answers > /srv/index.html && exec httpd -f -p 8080 -h /srv"]
`,
    [`${project}/h1/host.yaml`]: 'allowEmpty: true\n',
  });
  const drivers = { containers: new DockerContainerDriver({ socketPath: podman!.socket }), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/var/lib/gitfleet/compose'] }) };
  let inventory: Inventory = emptyInventory();
  const options = { revision: 'r1', settleMs: 200, pollMs: 100, healthTimeoutMs: 30_000, saveInventory: async (i: Inventory) => void (inventory = structuredClone(i)) };
  const first = await converge(drivers, await loadDesiredState(tree, { host: 'h1' }), inventory, options);
  assert.equal(first.failures.length, 0, JSON.stringify(first.failures));
  const db = await docker.getContainer('shop-db-main').inspect();
  assert.deepEqual(Object.keys(db.NetworkSettings.Networks), [`${project}_default`]);
  assert.match(db.NetworkSettings.Networks[`${project}_default`]?.IPAddress ?? '', /^192\.0\.2\./);
  let answer = '';
  for (const deadline = Date.now() + 30_000; answer === '' && Date.now() < deadline; ) {
    answer = await podman!.podman(['exec', 'compose-web', 'wget', '-q', '-O-', 'http://db:8080/'], 5_000).catch(() => '');
    if (answer === '') await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(answer, 'db-answers', 'web reached db by its service name (its container is named otherwise)');
  const steps: string[] = [];
  await converge(drivers, await loadDesiredState(tree, { host: 'h1' }), inventory, { ...options, onStep: (r) => steps.push(`${r.step.type} ${r.step.resource ?? ''}`) });
  assert.deepEqual(steps, [], 'the second converge runs no step');
  // Its containers go first (dispose removes every network this Podman has).
  await podman!.podman(['rm', '--force', '--time', '0', 'compose-web', 'shop-db-main']);
});

test('a container started with podman run on a bridge network, with an alias and a published port, is adopted as it is', async (t) => {
  if (!requireComponent(t, 'Podman with bridge networks (ip, iptables, dnsname) and git', missing)) return;
  const tree = mkdtempSync(join(tmpdir(), 'gitfleet-podman-adopt-'));
  t.after(() => rmSync(tree, { recursive: true, force: true }));
  const legacyNet = `gfpn-${suffix}-legacy`;
  await podman!.podman(['network', 'create', legacyNet]);
  const id = await podman!.podman(['run', '-d', '--name', 'legacy-db', '--network', legacyNet, '--network-alias', 'ledger', '-p', '8082:8080', TEST_IMAGE, 'httpd', '-f', '-p', '8080', '-h', '/www']);

  // What `gitfleet adopt` writes for it: the network by name with the alias, the port; not Podman's short-id alias.
  const adopted = join(tree, 'adopted');
  const r = await gitfleet(['adopt', '--host', 'h3', '--into', adopted, '--containers', '--docker-socket', podman!.socket], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const written = parse(readFileSync(join(adopted, 'h3', 'containers.yaml'), 'utf8')) as { containers: Record<string, Record<string, unknown>>; networks?: Record<string, unknown> };
  assert.deepEqual(written.containers['legacy-db']?.networks, { [legacyNet]: { aliases: ['ledger'] } }, JSON.stringify(written.containers['legacy-db']));
  assert.deepEqual(written.containers['legacy-db']?.ports, ['8082:8080']);
  assert.ok(written.networks && legacyNet in written.networks, JSON.stringify(written.networks));
  writeTree(tree, {
    'h2/host.yaml': 'adopt: true\n',
    'h2/apps.yaml': `networks:
  ${legacyNet}: {}
containers:
  legacy-db:
    image: ${TEST_IMAGE}
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: ["8082:8080"]
    networks: { ${legacyNet}: { aliases: [ledger] } }
    depends_on: [network/${legacyNet}]
`,
  });
  const drivers = { containers: new DockerContainerDriver({ socketPath: podman!.socket }), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/var/lib/gitfleet'] }) };
  let inventory: Inventory = emptyInventory();
  const options = { revision: 'r1', settleMs: 200, pollMs: 100, healthTimeoutMs: 30_000, saveInventory: async (i: Inventory) => void (inventory = structuredClone(i)) };
  const steps: string[] = [];
  const reasons: string[] = [];
  const first = await converge(drivers, await loadDesiredState(tree, { host: 'h2' }), inventory, { ...options, onStep: (r) => (steps.push(`${r.step.type} ${r.step.resource ?? ''}`), reasons.push(r.step.reason ?? '')) });
  assert.equal(first.failures.length, 0, JSON.stringify(first.failures));
  assert.deepEqual(steps, [], `nothing created or recreated: ${reasons.join('; ')}`);
  assert.ok(first.adopted.includes('container/legacy-db'), JSON.stringify(first.adopted));
  assert.equal((await docker.getContainer('legacy-db').inspect()).Id, id, 'the same container');
  assert.equal((await fromHostSideAt('127.0.0.1', 8082)).trim(), 'gitfleet busybox');
  await podman!.podman(['rm', '--force', '--time', '0', 'legacy-db']);
});
