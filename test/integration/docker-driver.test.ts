// The real driver on the real engine: every ContainerSpec key lands on the
// created container, and bad input (a port already taken, volumes the engine
// refuses, a socket that is missing or refuses) gives one clear GitfleetError.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerContainerDriver } from '../../agent/drivers/docker/docker-container-driver.ts';
import { isGitfleetError, type ErrorCode } from '../../shared/errors.ts';
import { ContainerSpec } from '../../shared/resources.ts';
import { requireComponent } from '../harness/require.ts';
import { DockerTestHarness, TEST_IMAGE, dockerMissingReason } from '../harness/docker.ts';
import { waitFor } from './hub-harness.ts';

const harness = new DockerTestHarness();
const driver = new DockerContainerDriver();
const owned = { 'io.gitfleet.managed-by': 'gitfleet', ...harness.labels };
const sleeper: ContainerSpec = { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none' };
let missing: string | null = null;
const scratch = mkdtempSync(join(tmpdir(), 'gitfleet-docker-'));

before(async () => {
  missing = await dockerMissingReason();
});
after(async () => {
  await harness.cleanup().catch(() => {});
  rmSync(scratch, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isGitfleetError(error, code), `expected ${code}, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

/** A port nothing listens on right now (another process could still take it: a race we accept). */
async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise((r) => probe.close(r));
  return port;
}

describe('Docker driver on a real engine', { concurrency: false }, () => {
  test('every ContainerSpec key lands on the created container', async (t) => {
    if (!requireComponent(t, 'Docker engine', missing)) return;
    const network = await harness.bridgeNetwork('net');
    const hostPort = await freePort();
    const volume = harness.name('vol');
    writeFileSync(join(scratch, 'config'), 'x');
    const spec = ContainerSpec.parse({
      image: TEST_IMAGE,
      entrypoint: '/bin/sleep',
      command: '3600',
      env: { GREETING: 'hello world', COUNT: 3, DEBUG: true },
      ports: [`127.0.0.1:${hostPort}:80`, '53/udp'],
      volumes: [`${scratch}:/data:ro`, `${volume}:/cache`, '/scratch'],
      restart: 'unless-stopped',
      network,
      labels: { team: 'web' },
      healthcheck: { test: 'true', interval: '30s', timeout: '5s', retries: 2, start_period: '1s' },
      pull: 'never',
      state: 'running',
      drift: 'correct',
      depends_on: [],
      user: '65534:65534',
      working_dir: '/tmp',
      hostname: 'gitfleet-web',
      privileged: false,
      init: true,
      read_only: true,
      cap_add: ['NET_ADMIN'],
      cap_drop: ['MKNOD'],
      devices: ['/dev/null:/dev/gitfleet-null:r'],
      mem_limit: '64m',
      mem_reservation: '32m',
      pids_limit: 100,
      cpus: 0.5,
      logging: { driver: 'json-file', options: { 'max-size': '1m' } },
      extra_hosts: ['db:192.0.2.10'],
      tmpfs: ['/run:size=1m'],
      ulimits: { nofile: { soft: 1024, hard: 2048 }, nproc: 256 },
      stop_signal: 'SIGINT',
      stop_grace_period: '2s',
    });
    // The Compose names (environment, network_mode, networks) exclude their native twins: the next test lands them.
    const composeNames = ['environment', 'network_mode', 'networks'];
    // `secrets` never reaches the driver: evaluation makes it file mounts (test/integration/secrets-agent.test.ts lands them).
    const evaluatedAway = ['secrets'];
    assert.deepEqual([...Object.keys(spec), ...composeNames, ...evaluatedAway].sort(), Object.keys(ContainerSpec.shape).sort(), 'this test and the next cover every key of the schema');

    const name = harness.name('every-key');
    t.after(() => harness.docker.getVolume(volume).remove().catch(() => {}));
    const id = await driver.create(name, spec, owned);
    await driver.start(id);
    const info = await harness.inspect(id);
    const c = info.Config;
    const h = info.HostConfig as typeof info.HostConfig & Record<string, unknown>;
    assert.equal(c.Image, TEST_IMAGE);
    assert.deepEqual(c.Entrypoint, ['/bin/sleep']);
    assert.deepEqual(c.Cmd, ['3600']);
    for (const e of ['GREETING=hello world', 'COUNT=3', 'DEBUG=true']) assert.ok(c.Env.includes(e), `${e} in ${c.Env.join(' ')}`);
    assert.deepEqual(h.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }], '53/udp': [{ HostIp: '', HostPort: '' }] });
    assert.ok('80/tcp' in (c.ExposedPorts ?? {}) && '53/udp' in (c.ExposedPorts ?? {}));
    assert.deepEqual(h.Binds, [`${scratch}:/data:ro`, `${volume}:/cache`]);
    const mounts = Object.fromEntries(info.Mounts.map((m) => [m.Destination, m]));
    assert.equal(mounts['/data']?.RW, false);
    assert.equal(mounts['/cache']?.Name, volume);
    assert.equal(mounts['/scratch']?.Type, 'volume', 'anonymous volume');
    assert.deepEqual(h.RestartPolicy, { Name: 'unless-stopped', MaximumRetryCount: 0 });
    assert.equal(h.NetworkMode, network);
    assert.ok(network in info.NetworkSettings.Networks);
    assert.equal(c.Labels.team, 'web');
    assert.equal(c.Labels['io.gitfleet.managed-by'], 'gitfleet');
    const hc = (c as unknown as { Healthcheck: Record<string, unknown> }).Healthcheck;
    assert.deepEqual(hc, { Test: ['CMD-SHELL', 'true'], Interval: 30e9, Timeout: 5e9, StartPeriod: 1e9, Retries: 2 });
    assert.equal(c.User, '65534:65534');
    assert.equal(c.WorkingDir, '/tmp');
    assert.equal(c.Hostname, 'gitfleet-web');
    assert.equal(h.Privileged, false);
    assert.equal(h.Init, true);
    assert.equal(h.ReadonlyRootfs, true);
    assert.deepEqual(h.CapAdd, ['NET_ADMIN']);
    assert.deepEqual(h.CapDrop, ['MKNOD']);
    assert.deepEqual(h.Devices, [{ PathOnHost: '/dev/null', PathInContainer: '/dev/gitfleet-null', CgroupPermissions: 'r' }]);
    assert.equal(h.Memory, 64 * 1024 * 1024);
    assert.equal(h.MemoryReservation, 32 * 1024 * 1024);
    assert.equal(h.PidsLimit, 100);
    assert.equal(h.NanoCpus, 5e8);
    assert.deepEqual(h.LogConfig, { Type: 'json-file', Config: { 'max-size': '1m' } });
    assert.deepEqual(h.ExtraHosts, ['db:192.0.2.10']);
    assert.deepEqual(h.Tmpfs, { '/run': 'size=1m' });
    assert.deepEqual(h.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'nproc', Soft: 256, Hard: 256 }]);
    assert.equal((c as unknown as { StopSignal: string }).StopSignal, 'SIGINT');
    assert.equal((c as unknown as { StopTimeout: number }).StopTimeout, 2);

    // …and the container actually runs with it.
    const live = (await driver.list()).find((x) => x.id === id);
    assert.equal(live?.state, 'running');
    assert.equal(live.health, 'starting');
    await driver.remove(id);
  });

  test('the Compose names land too: environment, networks (two, with aliases), network_mode', async (t) => {
    if (!requireComponent(t, 'Docker engine', missing)) return;
    const [front, back] = [await harness.bridgeNetwork('front'), await harness.bridgeNetwork('back')];
    const name = harness.name('compose-keys');
    const spec = ContainerSpec.parse({ image: TEST_IMAGE, command: ['sleep', '3600'], init: true, environment: { A: 1 }, networks: { [back]: { aliases: ['db'] }, [front]: null } });
    const id = await driver.create(name, spec, owned);
    await driver.start(id);
    const info = await harness.inspect(id);
    assert.ok(info.Config.Env.includes('A=1'));
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks).sort(), [back, front].sort(), 'both networks joined (the second after create)');
    assert.ok(info.NetworkSettings.Networks[back]?.Aliases?.includes('db'));
    await driver.remove(id);
    const none = await driver.create(harness.name('compose-mode'), ContainerSpec.parse({ image: TEST_IMAGE, command: ['sleep', '3600'], network_mode: 'none' }), owned);
    assert.equal((await harness.inspect(none)).HostConfig.NetworkMode, 'none');
    await driver.remove(none);
  });

  test('a host port already taken by another process → DOCKER_FAILED at start, naming the port', async (t) => {
    if (!requireComponent(t, 'Docker engine', missing)) return;
    const network = await harness.bridgeNetwork('ports');
    const holder = createServer();
    const port = await listen(holder);
    t.after(() => holder.close());
    const name = harness.name('port-taken');
    await driver.create(name, { ...sleeper, network, ports: [`127.0.0.1:${port}:80`] }, owned);
    await rejectsWith(driver.start(name), 'DOCKER_FAILED', new RegExp(`cannot start container ${name}: .*127\\.0\\.0\\.1:${port}.*address already in use`));
    assert.equal((await driver.list()).find((c) => c.name === name)?.state, 'created', 'left created, not half-running');
    await driver.remove(name);
  });

  test('a host port already published by another container → DOCKER_FAILED "already allocated"', async (t) => {
    if (!requireComponent(t, 'Docker engine', missing)) return;
    const network = await harness.bridgeNetwork('ports2');
    const port = await freePort();
    const first = harness.name('port-first');
    const second = harness.name('port-second');
    await driver.create(first, { ...sleeper, network, ports: [`127.0.0.1:${port}:80`] }, owned);
    await driver.start(first);
    await driver.create(second, { ...sleeper, network, ports: [`127.0.0.1:${port}:80`] }, owned);
    await rejectsWith(driver.start(second), 'DOCKER_FAILED', /port is already allocated/);
    await driver.remove(first);
    await driver.remove(second);
  });

  test('without a user-defined network, ports are silently not published by this engine (documented limitation)', async (t) => {
    if (!requireComponent(t, 'Docker engine', missing)) return;
    // dockerd runs with --bridge=none: the default network cannot publish ports.
    // The driver passes the bindings; the engine keeps them in HostConfig only.
    const name = harness.name('port-default');
    await driver.create(name, { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, ports: ['127.0.0.1:1:80'] }, owned);
    const info = await harness.inspect(name);
    assert.deepEqual(info.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '1' }] });
    await driver.remove(name);
  });

  test('volumes the engine refuses → clear errors: a bad volume name at create, a file over a directory at start', async (t) => {
    if (!requireComponent(t, 'Docker engine', missing)) return;
    const fileOverDir = harness.name('vol-file');
    await driver.create(fileOverDir, { ...sleeper, volumes: ['/etc/hostname:/bin'] }, owned);
    await rejectsWith(driver.start(fileOverDir), 'DOCKER_FAILED', /cannot start container .*not a directory/);
    await driver.remove(fileOverDir);
    await rejectsWith(driver.create(harness.name('vol-bad'), { ...sleeper, volumes: ['bad name:/x'] }, owned), 'INVALID_VALUE', /^volumes: "bad name:\/x"/);
    await rejectsWith(driver.create(harness.name('vol-rel'), { ...sleeper, volumes: ['../etc:/x'] }, owned), 'INVALID_VALUE', /relative bind source/);
  });

  test('a socket path with nothing there → DOCKER_UNAVAILABLE naming the path, from every method', async () => {
    const sock = join(scratch, 'missing.sock');
    const gone = new DockerContainerDriver({ socketPath: sock });
    const expect = new RegExp(`Docker daemon at ${sock} is not reachable \\(no socket there: is dockerd running\\?\\)`);
    await rejectsWith(gone.ping(), 'DOCKER_UNAVAILABLE', expect);
    await rejectsWith(gone.list(), 'DOCKER_UNAVAILABLE', expect);
    await rejectsWith(gone.ensureImage(TEST_IMAGE, 'missing'), 'DOCKER_UNAVAILABLE', expect);
    await rejectsWith(gone.create('x1', sleeper, {}), 'DOCKER_UNAVAILABLE', expect);
    await rejectsWith(gone.start('x1'), 'DOCKER_UNAVAILABLE', expect);
    await rejectsWith(gone.stop('x1'), 'DOCKER_UNAVAILABLE', expect);
    await rejectsWith(gone.remove('x1'), 'DOCKER_UNAVAILABLE', expect);
  });

  test('a socket that refuses, or hangs up at once → DOCKER_UNAVAILABLE', async (t) => {
    const notASocket = join(scratch, 'plain-file.sock');
    writeFileSync(notASocket, '');
    await rejectsWith(new DockerContainerDriver({ socketPath: notASocket }).ping(), 'DOCKER_UNAVAILABLE', /refuses connections/);
    const hangup = join(scratch, 'hangup.sock');
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(hangup, resolve));
    t.after(() => server.close());
    await rejectsWith(new DockerContainerDriver({ socketPath: hangup }).list(), 'DOCKER_UNAVAILABLE', new RegExp(`${hangup} is not reachable`));
  });

  test('watch on a missing socket reports DOCKER_UNAVAILABLE repeatedly with backoff, and stops when unsubscribed', async () => {
    const gone = new DockerContainerDriver({ socketPath: join(scratch, 'nothing.sock'), reconnectMinMs: 10, reconnectMaxMs: 40 });
    const errors: Error[] = [];
    const stop = gone.watch(() => assert.fail('no events from nowhere'), (e) => errors.push(e));
    // Three reports take about 60 ms of backoff; a loaded machine may run the timers much later.
    await waitFor('three reports of the missing socket (it retried)', () => errors.length >= 3, 10_000).finally(stop);
    const seen = errors.length;
    assert.ok(errors.every((e) => isGitfleetError(e, 'DOCKER_UNAVAILABLE')), errors.map(String).join('; '));
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(errors.length, seen, 'no retries after unsubscribe');
  });

  test('list sees unmanaged containers too, and a restart policy shows up as restartCount', async (t) => {
    if (!requireComponent(t, 'Docker engine', missing)) return;
    const unmanaged = harness.name('unmanaged');
    await harness.run(unmanaged);
    const flapper = harness.name('flapper');
    await driver.create(flapper, { image: TEST_IMAGE, command: ['sh', '-c', 'sleep 0.2; exit 3'], network: 'none', restart: 'on-failure' }, owned);
    await driver.start(flapper);
    const deadline = Date.now() + 8000;
    let live = await driver.list();
    while ((live.find((c) => c.name === flapper)?.restartCount ?? 0) < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      live = await driver.list();
    }
    assert.ok(live.some((c) => c.name === unmanaged && c.labels['io.gitfleet.managed-by'] === undefined));
    assert.ok((live.find((c) => c.name === flapper)?.restartCount ?? 0) >= 1, 'the engine restarted it at least once');
    await driver.remove(flapper);
  });

  test('list stays truthful with its inspect cache warm: health changes, manual stop, rm -f and re-run under the name', async (t) => {
    if (!requireComponent(t, 'Docker engine', missing)) return;
    const until = async (what: string, check: (l: Awaited<ReturnType<typeof driver.list>>) => boolean) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const live = await driver.list();
        if (check(live)) return live;
        if (Date.now() > deadline) assert.fail(`list never showed ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const healthy = harness.name('cache-healthy');
    const sick = harness.name('cache-sick');
    // The first check runs one interval after the start: 3 s keeps `starting` for the first list even when starting
    // two containers is slow on a loaded machine (with 1 s it could read `healthy` already).
    await driver.create(healthy, { ...sleeper, healthcheck: { test: 'true', interval: '3s' } }, owned);
    await driver.create(sick, { ...sleeper, healthcheck: { test: 'false', interval: '1s', retries: 1 } }, owned);
    await driver.start(healthy);
    await driver.start(sick);
    const first = await driver.list();
    assert.equal(first.find((c) => c.name === healthy)?.health, 'starting');
    await until('healthy and unhealthy', (l) => l.find((c) => c.name === healthy)?.health === 'healthy' && l.find((c) => c.name === sick)?.health === 'unhealthy');

    const before = (await driver.list()).find((c) => c.name === healthy);
    await harness.stop(healthy, 1);
    const stopped = (await driver.list()).find((c) => c.name === healthy);
    assert.equal(stopped?.state, 'exited');
    assert.equal(stopped.exitCode, 143);

    await harness.rmForce(healthy);
    const other = await harness.run(healthy, { image: 'local/busybox:2' });
    const replaced = (await driver.list()).find((c) => c.name === healthy);
    assert.equal(replaced?.id, other);
    assert.notEqual(replaced.id, before?.id);
    assert.equal(replaced.image, 'local/busybox:2');
    assert.equal(replaced.labels['io.gitfleet.managed-by'], undefined, 'the hand-made one is not ours');
    await harness.rmForce(sick);
  });
});
