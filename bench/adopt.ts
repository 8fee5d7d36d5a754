// How long `gitfleet adopt` takes to describe a host with 30 containers (20
// `docker run` ones with ports, env and a healthcheck, 10 of a Compose project
// with a network and a volume) and 20 units (each with a drop-in), side by
// side with the floor measured in the same run: the reads adopt cannot do
// without (list + inspect every container and image, read every unit file and
// drop-in). A private dockerd and a unit tree in a temporary root. Run:
//   node --import tsx bench/adopt.ts [--runs N]
// Interleaved per run (medians printed):
//   floor   dockerode: info (the default log driver), list, inspect each container, inspect each image; readdir + read of every unit file and drop-in
//   adopt   the command's own path in-process: inspectEngine, containerLayers, inspectUnits, buildHostDir (YAML text of every file)
// plus, once, the whole command as a process (`gitfleet adopt --dry-run`, tsx start included).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import Dockerode from 'dockerode';
import { containerLayers } from '../cli/adopt/container-layers.ts';
import { inspectEngine } from '../cli/adopt/inspect-containers.ts';
import { inspectUnits } from '../cli/adopt/inspect-units.ts';
import { buildHostDir } from '../cli/adopt/write-host-dir.ts';
import { dockerMissingReason, TEST_IMAGE } from '../test/harness/docker.ts';
import { PrivateDockerd } from '../test/harness/private-dockerd.ts';
import { median } from './stats.ts';

const run = promisify(execFile);

async function setUp(dockerd: PrivateDockerd, root: string): Promise<void> {
  const docker = new Dockerode({ socketPath: dockerd.socket });
  await docker.createNetwork({ Name: 'benchnet', Driver: 'bridge' });
  await docker.createNetwork({ Name: 'shop_backend', Driver: 'bridge', Labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.network': 'backend' } });
  await docker.createVolume({ Name: 'shop_data', Labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.volume': 'data' } });
  const create = async (name: string, body: Dockerode.ContainerCreateOptions) => {
    const c = await docker.createContainer({ name, Image: TEST_IMAGE, Cmd: ['sleep', '3600'], ...body, HostConfig: { Init: true, ...body.HostConfig } });
    await c.start();
  };
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < 20; i++) {
    jobs.push(create(`app-${i}`, {
      Env: [`MODE=prod`, `INDEX=${i}`, `APP_TOKEN=t${i}`],
      ExposedPorts: { '8080/tcp': {} },
      Healthcheck: { Test: ['CMD', 'true'], Interval: 5e9 },
      HostConfig: { NetworkMode: 'benchnet', PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(31000 + i) }] }, RestartPolicy: { Name: 'unless-stopped' } },
    }));
  }
  for (let i = 0; i < 10; i++) {
    jobs.push(create(`shop_svc${i}_1`, {
      Labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': `svc${i}` },
      Env: [`DB_PASSWORD=p${i}`, 'PGDATA=/data'],
      HostConfig: { NetworkMode: 'shop_backend', Binds: ['shop_data:/data:rw'] },
      NetworkingConfig: { EndpointsConfig: { shop_backend: { Aliases: [`svc${i}`] } } },
    }));
  }
  await Promise.all(jobs);
  const etc = join(root, 'etc/systemd/system');
  mkdirSync(join(etc, 'multi-user.target.wants'), { recursive: true });
  for (let i = 0; i < 20; i++) {
    writeFileSync(join(etc, `bench-${i}.service`), `[Unit]\nDescription=bench ${i}\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n`);
    mkdirSync(join(etc, `bench-${i}.service.d`));
    writeFileSync(join(etc, `bench-${i}.service.d/10-env.conf`), `[Service]\nEnvironment=I=${i}\n`);
  }
}

async function floor(socketPath: string, root: string): Promise<number> {
  const started = performance.now();
  const docker = new Dockerode({ socketPath });
  const [, list] = await Promise.all([docker.info(), docker.listContainers({ all: true })]);
  const inspected = await Promise.all(list.map((c) => docker.getContainer(c.Id).inspect()));
  await Promise.all([...new Set(inspected.map((c) => c.Image))].map((id) => docker.getImage(id).inspect()));
  const etc = join(root, 'etc/systemd/system');
  for (const name of readdirSync(etc)) {
    if (name.endsWith('.service')) readFileSync(join(etc, name), 'utf8');
    else if (name.endsWith('.d')) for (const f of readdirSync(join(etc, name))) readFileSync(join(etc, name, f), 'utf8');
  }
  return performance.now() - started;
}

async function adopt(socketPath: string, root: string): Promise<number> {
  const started = performance.now();
  const taken = new Set<string>();
  const containers = containerLayers(await inspectEngine(socketPath), false, taken);
  const { units } = await inspectUnits(root);
  const built = await buildHostDir({ host: 'bench-01', containers, units, files: null, recipients: [], taken });
  if (!built.files.has('compose.yaml') || !built.files.has('containers.yaml') || Object.keys(units).length !== 20) throw new Error('adopt did not describe the host');
  return performance.now() - started;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
  const runs = Number(values.runs);
  const missing = await dockerMissingReason();
  if (missing) throw new Error(`bench/adopt.ts needs Docker: ${missing}`);
  const dockerd = new PrivateDockerd();
  const root = mkdtempSync(join(tmpdir(), 'gitfleet-bench-adopt-'));
  try {
    await dockerd.start();
    await dockerd.copyImage(TEST_IMAGE);
    await setUp(dockerd, root);
    const f: number[] = [];
    const a: number[] = [];
    await adopt(dockerd.socket, root); // warm-up: module and image caches of both paths
    await floor(dockerd.socket, root);
    for (let i = 0; i < runs; i++) {
      f.push(await floor(dockerd.socket, root));
      a.push(await adopt(dockerd.socket, root));
    }
    const started = performance.now();
    await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'adopt', '--host', 'bench-01', '--into', root, '--dry-run', '--docker-socket', dockerd.socket, '--root', root], { cwd: join(import.meta.dirname, '..'), maxBuffer: 64 << 20 });
    const cli = performance.now() - started;
    process.stdout.write(`host: 30 containers (20 docker run, 10 of a Compose project), 20 units with a drop-in each; runs: ${runs} (medians)\n`);
    process.stdout.write(`floor (info, list, inspect containers and images, units)  ${median(f).toFixed(1)} ms\n`);
    process.stdout.write(`adopt (inspect, strip defaults, group, YAML)             ${median(a).toFixed(1)} ms  (${(median(a) / median(f)).toFixed(2)}× the floor)\n`);
    process.stdout.write(`gitfleet adopt --dry-run as a process (once, tsx start)  ${cli.toFixed(0)} ms\n`);
  } finally {
    await dockerd.dispose();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
