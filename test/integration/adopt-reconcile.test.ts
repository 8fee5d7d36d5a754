// The agent's side of adoption (docs/adopt.md) on real components, with the
// fleet directory written by hand (not by `gitfleet adopt`, which
// adopt-host.test.ts covers): a systemd host (nspawn) whose Docker engine is a
// private dockerd, built as an operator would — a container of a Compose
// project (compose labels, a network and a volume), two `docker run`
// containers with ports, env and a healthcheck, a custom unit with a drop-in,
// a config file. With `adopt: true` in host.yaml: `gitfleet plan` shows nothing
// to change but the resources it would adopt, the first `agent --once` keeps
// every container id, the unit's MainPID and the file's inode and mtime, and
// the status says what was adopted; a commit that changes one container then
// recreates only that one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { dockerMissingReason, TEST_IMAGE } from '../harness/docker.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';
import { PrivateDockerd } from '../harness/private-dockerd.ts';
import { requireComponent } from '../harness/require.ts';

const run = promisify(execFile);
const hostName = `gf-adopt-rec-${process.pid % 100000}`;
const work = mkdtempSync(join(tmpdir(), 'gitfleet-adopt-rec-'));
const fleet = join(work, 'fleet');
const hostDir = join(fleet, hostName);
mkdirSync(hostDir, { recursive: true });
const dockerd = new PrivateDockerd();
let host: SystemdHost | null = null;
let missing: string | null = null;
const port = (n: number) => 20000 + ((process.pid * 11 + n) % 20000);
const cli = ['node', '--import', '/opt/gitfleet/node_modules/tsx/dist/esm/index.mjs', '/opt/gitfleet/cli/main.ts'];
const agentArgs = ['--repo', '/fleet', '--host', hostName, '--state-dir', '/var/lib/gitfleet-adopt', '--files-allow', '/etc'];

const unitText = "[Unit]\nDescription=hand-made worker\n[Service]\nExecStart=/bin/sh -c 'exec sleep infinity'\n[Install]\nWantedBy=multi-user.target\n";
const dropinText = '[Service]\nEnvironment=LEVEL=debug\n';
const confText = 'listen = "127.0.0.1:8080"\n';

const containersYaml = (apiMode: string) => `networks:
  appnet: {}
containers:
  api:
    image: ${TEST_IMAGE}
    command: [httpd, -f, -p, "8080"]
    environment: { MODE: ${apiMode}, API_KEY: "k-123" }
    ports: ["127.0.0.1:${port(1)}:8080"]
    networks: [appnet]
    restart: unless-stopped
    healthcheck: { test: "true", interval: 5s }
  worker:
    image: ${TEST_IMAGE}
    command: [sleep, "3600"]
    environment: { QUEUE: jobs }
    ports: ["127.0.0.1:${port(2)}:9000"]
    networks: [appnet]
    init: true
    healthcheck: { test: "test -e /bin/sh", retries: 2 }
`;
const composeYaml = `services:
  db:
    container_name: shop_db_1
    image: ${TEST_IMAGE}
    command: ["sleep", "3600"]
    init: true
    environment: { PGDATA: /data/pg }
    volumes: ["pgdata:/data"]
    networks: [backend]
networks:
  backend: { name: shop_backend }
volumes:
  pgdata: { name: shop_pgdata }
`;

async function inHost(argv: string[], input?: string) {
  return host!.exec(argv, { timeoutMs: 180_000, ...(input === undefined ? {} : { input }) });
}
async function mustInHost(argv: string[], input?: string): Promise<string> {
  const r = await inHost(argv, input);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
const docker = (...args: string[]) => run('docker', ['-H', `unix://${dockerd.socket}`, ...args]).then((r) => r.stdout);

before(async () => {
  missing = systemdHostsAvailable() ?? (await dockerMissingReason());
  if (missing) return;
  await dockerd.start();
  await dockerd.copyImage(TEST_IMAGE);
  // A Compose project as docker compose leaves it: a network, a volume, a container with its labels.
  // Subnets from TEST-NET-1: the engine's default pools are private ranges, which tests never use.
  await docker('network', 'create', '--subnet', '192.0.2.208/28', '--label', 'com.docker.compose.project=shop', '--label', 'com.docker.compose.network=backend', 'shop_backend');
  await docker('volume', 'create', '--label', 'com.docker.compose.project=shop', '--label', 'com.docker.compose.volume=pgdata', 'shop_pgdata');
  await docker('run', '-d', '--name', 'shop_db_1', '--network', 'shop_backend', '-v', 'shop_pgdata:/data', '--init', '-e', 'PGDATA=/data/pg',
    '--label', 'com.docker.compose.project=shop', '--label', 'com.docker.compose.service=db', '--label', 'com.docker.compose.container-number=1', '--label', 'com.docker.compose.oneoff=False',
    TEST_IMAGE, 'sleep', '3600');
  await docker('network', 'create', '--subnet', '192.0.2.224/28', 'appnet');
  await docker('run', '-d', '--name', 'api', '--network', 'appnet', '-p', `127.0.0.1:${port(1)}:8080`, '-e', 'MODE=prod', '-e', 'API_KEY=k-123',
    '--health-cmd', 'true', '--health-interval', '5s', '--restart', 'unless-stopped', TEST_IMAGE, 'httpd', '-f', '-p', '8080');
  await docker('run', '-d', '--name', 'worker', '--network', 'appnet', '-p', `127.0.0.1:${port(2)}:9000`, '-e', 'QUEUE=jobs', '--init',
    '--health-cmd', 'test -e /bin/sh', '--health-retries', '2', TEST_IMAGE, 'sleep', '3600');

  host = await bootHost(hostName, { bindDocker: false, binds: [{ host: dockerd.socket, guest: '/var/run/docker.sock' }, { host: fleet, guest: '/fleet' }] });
  await mustInHost(['mkdir', '-p', '/etc/systemd/system/hand-worker.service.d', '/etc/app']);
  await mustInHost(['tee', '/etc/systemd/system/hand-worker.service'], unitText);
  await mustInHost(['tee', '/etc/systemd/system/hand-worker.service.d/10-env.conf'], dropinText);
  await mustInHost(['tee', '/etc/app/app.conf'], confText);
  await mustInHost(['systemctl', 'daemon-reload']);
  await mustInHost(['systemctl', 'enable', '--now', 'hand-worker.service']);

  // The fleet directory, written by hand.
  writeFileSync(join(hostDir, 'host.yaml'), 'adopt: true\n');
  writeFileSync(join(hostDir, 'containers.yaml'), containersYaml('prod'));
  writeFileSync(join(hostDir, 'compose.yaml'), composeYaml);
  writeFileSync(
    join(hostDir, 'units.yaml'),
    `units:\n  hand-worker.service:\n    content: |\n${unitText.replace(/^/gm, '      ').trimEnd()}\n    dropins:\n      10-env.conf: |\n${dropinText.replace(/^/gm, '        ').trimEnd()}\n`,
  );
  writeFileSync(join(hostDir, 'files.yaml'), `files:\n  /etc/app/app.conf:\n    content: |\n      ${confText.trimEnd()}\n    mode: "0644"\n`);
});

after(async () => {
  await host?.poweroff().catch(() => undefined);
  await dockerd.dispose().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

const what = 'a systemd host and Docker (private dockerd)';

async function ids(): Promise<Record<string, string>> {
  const lines = (await docker('ps', '-a', '--no-trunc', '--format', '{{.Names}} {{.ID}}')).split('\n').filter(Boolean);
  return Object.fromEntries(lines.map((l) => l.split(' ') as [string, string]));
}

test('plan on the hand-built host: nothing to change, three containers, a unit and a file to adopt', async (t) => {
  if (!requireComponent(t, what, missing)) return;
  const r = await inHost([...cli, 'plan', ...agentArgs]);
  t.diagnostic(r.stdout.split('\n').filter((l) => /^Plan:|no changes/.test(l)).join(' | '));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^Plan: 0 create, 0 change, 0 correct drift, 0 prune, 5 adopt$/m, r.stdout);
  assert.match(r.stdout, /no changes: the host matches the desired state \(5 resource\(s\) are taken over as they are: /);
});

test('the first reconcile adopts everything: same container ids, unit MainPID, file inode and mtime; a changed container alone is recreated', async (t) => {
  if (!requireComponent(t, what, missing)) return;
  const before = await ids();
  const pid = async () => (await mustInHost(['systemctl', 'show', '-p', 'MainPID', '--value', 'hand-worker.service'])).trim();
  const pidBefore = await pid();
  const conf = () => statSync(join(host!.rootDir, 'etc/app/app.conf'));
  const confBefore = conf();
  const unitMtime = () => statSync(join(host!.rootDir, 'etc/systemd/system/hand-worker.service')).mtimeMs;
  const unitBefore = unitMtime();

  const first = await inHost([...cli, 'agent', '--once', '--json', ...agentArgs]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const status = (JSON.parse(first.stdout) as { status: { resources: { id: string; adoption?: string; message?: string }[] } }).status;
  const adoption = Object.fromEntries(status.resources.map((s) => [s.id, s.adoption]));
  for (const id of ['container/api', 'container/worker', 'container/shop_db_1', 'unit/hand-worker.service', 'file//etc/app/app.conf', 'network/shop_backend', 'volume/shop_pgdata', 'network/appnet']) {
    assert.equal(adoption[id], 'Adopted', `${id}: ${JSON.stringify(status.resources.find((s) => s.id === id))}`);
  }
  assert.deepEqual(await ids(), before, 'no container recreated');
  assert.equal(await pid(), pidBefore, 'the unit was not restarted');
  assert.equal(unitMtime(), unitBefore, 'the unit file was not rewritten');
  assert.equal(conf().ino, confBefore.ino, 'the file was not rewritten');
  assert.equal(conf().mtimeMs, confBefore.mtimeMs);
  t.diagnostic(`adopted: container ids ${Object.entries(before).map(([n, id]) => `${n}=${id.slice(0, 12)}`).join(' ')}, hand-worker.service MainPID ${pidBefore}, app.conf inode ${confBefore.ino}: unchanged`);

  const plan = await inHost([...cli, 'plan', ...agentArgs]);
  assert.equal(plan.code, 0, plan.stdout);
  assert.match(plan.stdout, /^Plan: 0 create, 0 change, 0 correct drift, 0 prune$/m, 'nothing left to adopt or change');

  writeFileSync(join(hostDir, 'containers.yaml'), containersYaml('canary'));
  const second = await inHost([...cli, 'agent', '--once', ...agentArgs]);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  const now = await ids();
  assert.deepEqual(Object.keys(before).filter((n) => now[n] !== before[n]), ['api'], `only api recreated:\n${second.stdout}`);
  const api = JSON.parse(await docker('inspect', 'api')) as [{ Config: { Env: string[]; Labels: Record<string, string> } }];
  assert.ok(api[0].Config.Env.includes('MODE=canary'));
  assert.equal(api[0].Config.Labels['io.gitfleet.managed-by'], 'gitfleet', 'recreated as the agent own');
  assert.equal(await pid(), pidBefore, 'the unit still runs as it was');
  assert.equal(readFileSync(join(host!.rootDir, 'etc/app/app.conf'), 'utf8'), confText);
});
