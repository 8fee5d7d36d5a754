// gitfleet adopt on a host built by hand, with real components: a systemd host
// (nspawn) whose Docker engine is a private dockerd bound in as its
// /var/run/docker.sock, running a Compose project (docker-compose 1.29: a
// network, a volume, two services) and two `docker run` containers (ports, env,
// healthcheck), a custom unit with a drop-in, a local drop-in on the
// distribution's dbus.service and a config file. The command runs inside the
// host, as an operator would run it. Checked: the directory validates; what it
// declares, turned into the agent's create bodies, is what runs (command, env,
// ports, healthcheck, restart, networks, mounts), units and the file render to
// the bytes on the host; secrets are encrypted for the host's key (or listed);
// `gitfleet plan` on the host: nothing to change; the agent's first reconcile
// keeps every container id and unit PID, and a later change to one container
// recreates only that one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { toCreateBody } from '../../agent/drivers/docker/container-config.ts';
import { readIdentityFile } from '../../repo/secrets/age-key.ts';
import { loadDesiredState } from '../../repo/tree/index.ts';
import type { ContainerSpec, FileSpec, UnitSpec } from '../../shared/resources.ts';
import { composeMissing, dockerMissingReason, TEST_IMAGE } from '../harness/docker.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';
import { PrivateDockerd } from '../harness/private-dockerd.ts';
import { requireComponent } from '../harness/require.ts';

const run = promisify(execFile);
const hostName = `gf-adopt-${process.pid % 100000}`;
const work = mkdtempSync(join(tmpdir(), 'gitfleet-adopt-it-'));
const fleet = join(work, 'fleet');
mkdirSync(fleet);
const dockerd = new PrivateDockerd();
let host: SystemdHost | null = null;
let missing: string | null = null;
const port = (n: number) => 20000 + ((process.pid * 7 + n) % 20000);

const cli = ['node', '--import', '/opt/gitfleet/node_modules/tsx/dist/esm/index.mjs', '/opt/gitfleet/cli/main.ts'];
const unit = '[Unit]\nDescription=adopted worker\n[Service]\nExecStart=/bin/sh -c \'echo started $$; exec sleep infinity\'\n[Install]\nWantedBy=multi-user.target\n';
const unitDropin = '[Service]\nEnvironment=LEVEL=debug\n';
const dbusDropin = '[Service]\nLimitNOFILE=16384\n';
const appConf = 'listen = "127.0.0.1:8080"\nhome = "${HOME}"\n';

async function inHost(argv: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return host!.exec(argv, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });
}

async function mustInHost(argv: string[]): Promise<string> {
  const r = await inHost(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  missing = systemdHostsAvailable() ?? (await dockerMissingReason()) ?? (await composeMissing());
  if (missing) return;
  await dockerd.start();
  await dockerd.copyImage(TEST_IMAGE);
  const env = { ...process.env, DOCKER_HOST: `unix://${dockerd.socket}` };
  const project = join(work, 'shop');
  mkdirSync(project);
  writeFileSync(
    join(project, 'docker-compose.yml'),
    `services:
  db:
    image: ${TEST_IMAGE}
    command: ["sleep", "3600"]
    init: true
    environment: { POSTGRES_PASSWORD: hunter2, PGDATA: /data/pg }
    volumes: ["pgdata:/data"]
    networks: [backend]
  web:
    image: ${TEST_IMAGE}
    command: ["httpd", "-f", "-p", "80"]
    ports: ["127.0.0.1:${port(1)}:80"]
    networks: [backend]
    depends_on: [db]
networks:
  backend: {}
volumes:
  pgdata: {}
`,
  );
  await run('docker-compose', ['-p', 'shop', 'up', '-d'], { cwd: project, env });
  const docker = ['-H', `unix://${dockerd.socket}`];
  await run('docker', [...docker, 'network', 'create', 'appnet']);
  await run('docker', [...docker, 'run', '-d', '--name', 'api', '--network', 'appnet', '-p', `127.0.0.1:${port(2)}:8080`, '-e', 'API_TOKEN=s3cr3t-t0ken', '-e', 'MODE=prod',
    '--health-cmd', 'true', '--health-interval', '5s', '--restart', 'unless-stopped', TEST_IMAGE, 'httpd', '-f', '-p', '8080']);
  await run('docker', [...docker, 'run', '-d', '--name', 'worker', '--network', 'appnet', '-p', `127.0.0.1:${port(3)}:9000`, '-e', 'QUEUE=jobs', '--init',
    '--health-cmd', 'test -e /bin/sh', '--health-retries', '2', TEST_IMAGE, 'sleep', '3600']);

  host = await bootHost(hostName, { bindDocker: false, binds: [{ host: dockerd.socket, guest: '/var/run/docker.sock' }, { host: fleet, guest: '/fleet' }] });
  await mustInHost(['sh', '-c', 'mkdir -p /etc/systemd/system/adopted-worker.service.d /etc/systemd/system/dbus.service.d /etc/app']);
  for (const [path, text] of [
    ['/etc/systemd/system/adopted-worker.service', unit],
    ['/etc/systemd/system/adopted-worker.service.d/10-env.conf', unitDropin],
    ['/etc/systemd/system/dbus.service.d/limits.conf', dbusDropin],
    ['/etc/app/app.conf', appConf],
  ] as const) {
    const r = await inHost(['tee', path], text);
    assert.equal(r.code, 0, r.stderr);
  }
  await mustInHost(['chown', 'nobody:nogroup', '/etc/app/app.conf']);
  await mustInHost(['chmod', '0640', '/etc/app/app.conf']);
  await mustInHost(['systemctl', 'daemon-reload']);
  await mustInHost(['systemctl', 'enable', '--now', 'adopted-worker.service']);
  await mustInHost(['mkdir', '-p', '/etc/gitfleet']);
  await mustInHost([...cli, 'secret', 'keygen']);
});

after(async () => {
  await host?.poweroff().catch(() => undefined);
  await dockerd.dispose().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

interface Adopted {
  state: Awaited<ReturnType<typeof loadDesiredState>>;
}
let adopted: Adopted | null = null;

test('adopt inside the host writes a directory that validates; secrets go to secrets.sops.yaml for the host key', async (t) => {
  if (!requireComponent(t, 'a systemd host, Docker (private dockerd) and docker-compose', missing)) return;
  const recipient = (await mustInHost([...cli, 'secret', 'keygen'])).trim();
  const started = Date.now();
  const r = await inHost([...cli, 'adopt', '--host', hostName, '--into', '/fleet', '--place', 'lab', '--containers', '--units', '--files', '/etc/app/app.conf', '--recipient', recipient]);
  const ms = Date.now() - started;
  assert.equal(r.code, 0, r.stderr);
  t.diagnostic(`adopt (4 containers, units, 1 file) inside the host: ${ms} ms`);
  assert.match(r.stderr, /2 secret value\(s\) encrypted into secrets\.sops\.yaml/, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const dir = join(fleet, 'lab', hostName);
  const compose = readFileSync(join(dir, 'compose.yaml'), 'utf8');
  const native = readFileSync(join(dir, 'containers.yaml'), 'utf8');
  for (const text of [compose, native, readFileSync(join(dir, 'units.yaml'), 'utf8'), readFileSync(join(dir, 'files.yaml'), 'utf8')]) {
    assert.doesNotMatch(text, /hunter2|s3cr3t-t0ken/);
  }
  assert.match(compose, /container_name: shop_db_1/);
  assert.match(compose, /^ {2}shop_backend:/m);
  assert.match(compose, /^ {2}shop_pgdata:/m);
  assert.match(native, /^ {2}api:/m);
  assert.match(native, /^ {2}appnet:/m);

  const v = await run('node', ['--import', 'tsx', 'cli/main.ts', 'validate', fleet]).catch((e: { stdout: string }) => e);
  assert.match(v.stdout, /^ok: no errors/m, v.stdout);
  const keys = await readIdentityFile(join(host!.rootDir, 'etc/gitfleet/age.key'));
  adopted = { state: await loadDesiredState(fleet, { host: hostName, keys }) };
});

test('without --recipient the secrets are left out and listed (dry run, nothing written)', async (t) => {
  if (!requireComponent(t, 'a systemd host, Docker (private dockerd) and docker-compose', missing)) return;
  const r = await inHost([...cli, 'adopt', '--host', 'other-01', '--into', '/fleet', '--containers', '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /2 secret value\(s\) left out/);
  assert.match(r.stderr, /container\/api: environment API_TOKEN/);
  assert.match(r.stderr, /container\/shop_db_1: environment POSTGRES_PASSWORD/);
  assert.doesNotMatch(r.stdout, /hunter2|s3cr3t-t0ken/);
  // The same run as --json: its files, written out, validate (the dry run's output is a valid host directory).
  const json = await inHost([...cli, 'adopt', '--host', 'other-01', '--into', '/fleet', '--containers', '--dry-run', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout) as { written: boolean; files: Record<string, string>; secrets: { items: { resource: string; key: string }[] } };
  assert.equal(out.written, false);
  assert.deepEqual(out.secrets.items.map((s) => `${s.resource} ${s.key}`).sort(), ['container/api API_TOKEN', 'container/shop_db_1 POSTGRES_PASSWORD']);
  const dryFleet = join(work, 'dry-fleet');
  mkdirSync(join(dryFleet, 'other-01'), { recursive: true });
  for (const [name, text] of Object.entries(out.files)) {
    assert.ok(r.stdout.includes(text), `the dry run printed ${name}`);
    writeFileSync(join(dryFleet, 'other-01', name), text);
  }
  const v = await run('node', ['--import', 'tsx', 'cli/main.ts', 'validate', dryFleet]).catch((e: { stdout: string }) => e);
  assert.match(v.stdout, /^ok: no errors/m, v.stdout);
});

test('the declared containers, as the agent would create them, are the running ones', async (t) => {
  if (!requireComponent(t, 'a systemd host, Docker (private dockerd) and docker-compose', missing)) return;
  assert.ok(adopted, 'the adopt test ran');
  const docker = new Dockerode({ socketPath: dockerd.socket });
  const containers = adopted.state.resources.filter((r) => r.kind === 'container');
  assert.deepEqual(containers.map((c) => c.name).sort(), ['api', 'shop_db_1', 'shop_web_1', 'worker']);
  for (const c of containers) {
    const live = await docker.getContainer(c.name).inspect();
    const image = await docker.getImage(live.Image).inspect();
    const body = toCreateBody(c.spec as ContainerSpec, {});
    const what = `container ${c.name}`;
    assert.equal(body.Image, live.Config.Image, what);
    assert.deepEqual(body.Cmd ?? image.Config.Cmd, live.Config.Cmd, `${what}: command`);
    const envOf = (list: string[]) => Object.fromEntries(list.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    assert.deepEqual({ ...envOf(image.Config.Env ?? []), ...envOf(body.Env ?? []) }, envOf(live.Config.Env), `${what}: env`);
    const bindings = (b: Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined) =>
      Object.fromEntries(Object.entries(b ?? {}).map(([k, v]) => [k, (v ?? []).map((x) => `${x.HostIp ?? ''}:${x.HostPort ?? ''}`)]));
    assert.deepEqual(bindings(body.HostConfig.PortBindings), bindings(live.HostConfig.PortBindings), `${what}: ports`);
    assert.deepEqual(body.Healthcheck?.Test, live.Config.Healthcheck?.Test, `${what}: healthcheck`);
    assert.equal(body.Healthcheck?.Interval ?? 0, live.Config.Healthcheck?.Interval ?? 0, `${what}: healthcheck interval`);
    assert.equal(body.HostConfig.RestartPolicy?.Name ?? 'no', live.HostConfig.RestartPolicy?.Name || 'no', `${what}: restart`);
    assert.equal(body.HostConfig.Init ?? false, live.HostConfig.Init ?? false, `${what}: init`);
    assert.equal(body.HostConfig.NetworkMode, live.HostConfig.NetworkMode, `${what}: network`);
    const liveVolumes = (live.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name && !/^[0-9a-f]{64}$/.test(m.Name)).map((m) => `${m.Name}:${m.Destination}`);
    assert.deepEqual((body.HostConfig.Binds ?? []).map((b) => b.split(':').slice(0, 2).join(':')), liveVolumes, `${what}: volumes`);
  }
  const db = containers.find((c) => c.name === 'shop_db_1')!.spec as ContainerSpec;
  assert.equal((db.environment ?? db.env)?.POSTGRES_PASSWORD, 'hunter2', 'the host decrypts the password');
  const ids = adopted.state.resources.map((r) => r.id);
  for (const id of ['network/shop_backend', 'volume/shop_pgdata', 'network/appnet']) assert.ok(ids.includes(id as never), `${id} declared`);
});

test('the unit, the drop-ins and the file render to the bytes on the host', async (t) => {
  if (!requireComponent(t, 'a systemd host, Docker (private dockerd) and docker-compose', missing)) return;
  assert.ok(adopted, 'the adopt test ran');
  const spec = (id: string) => adopted!.state.resources.find((r) => r.id === id)?.spec;
  assert.deepEqual(spec('unit/adopted-worker.service') as UnitSpec, { content: unit, dropins: { '10-env.conf': unitDropin }, enabled: true });
  assert.deepEqual(spec('unit/dbus.service') as UnitSpec, { dropins: { 'limits.conf': dbusDropin } });
  assert.deepEqual(spec('file//etc/app/app.conf') as FileSpec, { content: appConf, mode: '0640', owner: 'nobody', group: 'nogroup' });
  // What systemctl enable made (the .wants link) is not a unit of its own; the base tree's masks are kept as masks.
  assert.equal(spec('unit/multi-user.target'), undefined);
  assert.deepEqual(spec('unit/apt-daily.timer'), { state: 'masked' });
});

test('gitfleet plan on the adopted host', async (t) => {
  if (!requireComponent(t, 'a systemd host, Docker (private dockerd) and docker-compose', missing)) return;
  assert.ok(adopted, 'the adopt test ran');
  const r = await inHost([...cli, 'plan', '--repo', '/fleet', '--host', hostName, '--state-dir', '/var/lib/gitfleet-plan', '--files-allow', '/etc']);
  t.diagnostic(`plan: exit ${r.code}; ${r.stdout.split('\n').filter((l) => l.startsWith('Plan:')).join(' ')}`);
  assert.match(r.stdout, /^Plan: 0 create, 0 change, 0 correct drift, 0 prune/m, r.stdout + r.stderr);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('the first reconcile of the adopted host recreates and restarts nothing; a changed container is the only one recreated', async (t) => {
  if (!requireComponent(t, 'a systemd host, Docker (private dockerd) and docker-compose', missing)) return;
  assert.ok(adopted, 'the adopt test ran');
  const docker = new Dockerode({ socketPath: dockerd.socket });
  const ids = async () => Object.fromEntries((await docker.listContainers({ all: true })).map((c) => [c.Names[0]!.slice(1), c.Id]));
  const pid = async (unitName: string) => (await mustInHost(['systemctl', 'show', '-p', 'MainPID', '--value', unitName])).trim();
  const before = { ids: await ids(), worker: await pid('adopted-worker.service'), dbus: await pid('dbus.service') };
  const agent = [...cli, 'agent', '--once', '--repo', '/fleet', '--host', hostName, '--state-dir', '/var/lib/gitfleet-adopt', '--files-allow', '/etc'];
  const first = await inHost(agent);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  t.diagnostic(`first reconcile: ${first.stdout.split('\n').slice(0, 2).join(' / ')}`);
  assert.deepEqual(await ids(), before.ids, 'no container recreated');
  assert.equal(await pid('adopted-worker.service'), before.worker, 'the unit was not restarted');
  assert.equal(await pid('dbus.service'), before.dbus, 'dbus was not restarted');
  t.diagnostic(`first reconcile: container ids and unit PIDs (${before.worker}, ${before.dbus}) unchanged`);

  const file = join(fleet, 'lab', hostName, 'containers.yaml');
  const text = readFileSync(file, 'utf8');
  assert.match(text, /QUEUE: jobs/);
  writeFileSync(file, text.replace('QUEUE: jobs', 'QUEUE: jobs-2'));
  const second = await inHost(agent);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  const after = await ids();
  const recreated = Object.keys(before.ids).filter((name) => after[name] !== before.ids[name]);
  assert.deepEqual(recreated, ['worker'], `only worker recreated; the agent said:\n${second.stdout}\n${second.stderr}`);
  const worker = await docker.getContainer('worker').inspect();
  assert.ok(worker.Config.Env.includes('QUEUE=jobs-2'));
});
