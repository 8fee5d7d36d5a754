// One behaviour suite for ContainerDriver, run against the in-memory driver and
// two real engines, Docker and Podman (its Docker-compatible API, the same
// DockerContainerDriver): whatever the fake claims, the engines must do too.
// The engine's side runs on an image like real ones (local/busybox-rich:1 from
// test/env/provision.d/10-docker.sh and 30-podman.sh): it brings its own labels, environment, a
// volume and an entrypoint, and the contract must hold all the same.
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { DockerContainerDriver } from '../../agent/drivers/docker/docker-container-driver.ts';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import type { ContainerDriver, ContainerEvent } from '../../agent/drivers/types.ts';
import { isGitfleetError, type ErrorCode } from '../../shared/errors.ts';
import type { ContainerResource, ContainerSpec } from '../../shared/resources.ts';
import { containerConfigDiff } from '../../agent/engine/container-match.ts';
import { requireComponent } from '../harness/require.ts';
import { DockerTestHarness, dockerMissingReason } from '../harness/docker.ts';
import { PODMAN_SOCKET, PodmanTestHarness, podmanMissingReason } from '../harness/podman.ts';

interface Target {
  name: string;
  /** The real engine's harness (cleanup, manual actions); none for the memory driver. */
  engine?: DockerTestHarness;
  /** Podman's Docker-compatible API: the differences docs/edge.md "## Podman" lists are asserted as such. */
  podman?: boolean;
  /** The driver, or null when the test was skipped for lack of the component. */
  driver(t: TestContext): Promise<ContainerDriver | null>;
}

/** Built by test/env/provision.d/10-docker.sh; its recipe label says which build. */
const RICH_IMAGE = 'local/busybox-rich:1';
const RICH_RECIPE = '2';
const harness = new DockerTestHarness();
const podmanHarness = new PodmanTestHarness(harness.runId);

async function richImageMissing(engine: DockerTestHarness, baseReason: () => Promise<string | null>): Promise<string | null> {
  const base = await baseReason();
  if (base !== null) return base;
  try {
    const info = await engine.docker.getImage(RICH_IMAGE).inspect();
    const recipe = info.Config.Labels?.['io.gitfleet.test-image-recipe'];
    return recipe === RICH_RECIPE ? null : `the test image ${RICH_IMAGE} is from recipe ${recipe ?? 'none'}, not ${RICH_RECIPE}`;
  } catch {
    return `the test image ${RICH_IMAGE} is missing`;
  }
}
const owned = { 'io.gitfleet.managed-by': 'gitfleet', ...harness.labels };
/** busybox sleep as PID 1 ignores SIGTERM: init forwards it, so stops are quick. */
const sleeper: ContainerSpec = { image: RICH_IMAGE, command: ['sleep', '3600'], init: true, network: 'none' };
const absentImage = `local/gitfleet-absent-${harness.runId}:1`;

const memory = new MemoryContainerDriver({ images: [RICH_IMAGE] });
let dockerReason: Promise<string | null> | undefined;
const docker = new DockerContainerDriver();
let podmanReason: Promise<string | null> | undefined;
const podman = new DockerContainerDriver({ socketPath: PODMAN_SOCKET });

const targets: Target[] = [
  { name: 'memory', driver: async () => memory },
  {
    name: 'docker',
    engine: harness,
    driver: async (t) => (requireComponent(t, 'Docker engine', await (dockerReason ??= richImageMissing(harness, () => dockerMissingReason()))) ? docker : null),
  },
  {
    name: 'podman',
    engine: podmanHarness,
    podman: true,
    driver: async (t) => (requireComponent(t, 'Podman', await (podmanReason ??= richImageMissing(podmanHarness, podmanMissingReason))) ? podman : null),
  },
];

after(() => harness.cleanup().catch(() => {}));
after(() => (podmanReason ? podmanHarness.cleanup().catch(() => {}) : undefined));

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isGitfleetError(error, code), `expected ${code}, got ${String(error)}`);
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** Subscribes and collects events; `until` waits for one action of one container. */
function collectEvents(driver: ContainerDriver) {
  const events: ContainerEvent[] = [];
  let connected!: () => void;
  const ready = new Promise<void>((resolve) => (connected = resolve));
  const errors: Error[] = [];
  const stop = driver.watch((e) => events.push(e), (e) => errors.push(e), () => connected());
  return {
    ready,
    events,
    errors,
    stop,
    /** `timeoutMs`: generous, as an engine on a loaded machine can take seconds to stop a container or to send its event. */
    async until(id: string, action: ContainerEvent['action'], timeoutMs = 30_000): Promise<ContainerEvent[]> {
      const deadline = Date.now() + timeoutMs;
      while (!events.some((e) => e.id === id && e.action === action)) {
        if (Date.now() > deadline) assert.fail(`no ${action} event for ${id} within ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.action))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return events.filter((e) => e.id === id);
    },
  };
}

for (const target of targets) {
  describe(`ContainerDriver contract: ${target.name}`, { concurrency: false }, () => {
    const n = (suffix: string) => harness.name(`${target.name}-${suffix}`);

    // On Podman too: its inspect says the same in other words (image names with localhost/, HOSTNAME,
    // TERM and container in the environment, numeric stop signals, mount options in binds…), which the
    // driver puts in Docker's words (agent/drivers/docker/podman-inspect.ts, docs/edge.md).
    test('adoption sees a container made from a spec as that spec, completed with the image’s defaults, and names what differs', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const resource = (name: string, spec: ContainerSpec): ContainerResource => ({ id: `container/${name}`, kind: 'container', name, spec, drift: 'correct', dependsOn: [], source: { file: 'c.yaml', line: 1, layer: '' } });
      // Many keys at once, on an image with its own environment, volume, entrypoint and labels.
      const spec: ContainerSpec = {
        image: RICH_IMAGE, command: ['sleep', '3600'], init: true, network_mode: 'none',
        environment: { GREETING: 'from-the-spec', MODE: 'prod' }, labels: { team: 'web', ...harness.labels },
        volumes: ['/tmp:/host-tmp:ro', '/cache'], restart: 'unless-stopped', healthcheck: { test: 'true', interval: '30s', retries: 2 },
        user: '0', working_dir: '/tmp', hostname: 'adoptee', cap_drop: ['NET_RAW'], cap_add: ['SYS_TIME'], mem_limit: '64m', pids_limit: 100,
        ulimits: { nofile: 1024 }, tmpfs: ['/run/x:size=1m'], extra_hosts: ['db:192.0.2.10'], stop_signal: 'SIGINT', stop_grace_period: '5s',
      };
      const full = n('adopt-full');
      await driver.create(full, spec, { 'io.gitfleet.managed-by': 'gitfleet' });
      // An entrypoint given at create drops the image's command.
      const entry = n('adopt-entry');
      const entrySpec: ContainerSpec = { image: RICH_IMAGE, entrypoint: ['sleep', '3600'], init: true, network_mode: 'none', labels: { ...harness.labels } };
      await driver.create(entry, entrySpec, {});
      const live = await driver.list();
      const config = (name: string) => {
        const c = live.find((x) => x.name === name)?.config;
        assert.ok(c, `${name} listed with its configuration`);
        return c;
      };
      assert.deepEqual(containerConfigDiff(resource(full, spec), config(full)), []);
      assert.deepEqual(containerConfigDiff(resource(entry, entrySpec), config(entry)), []);
      const changed = { ...spec, command: ['sleep', '60'], environment: { ...spec.environment, MODE: 'canary' }, healthcheck: { ...spec.healthcheck!, retries: 3 } };
      const diff = containerConfigDiff(resource(full, changed), config(full));
      assert.deepEqual(diff.map((d) => d.field), ['command', 'environment', 'healthcheck']);
      assert.deepEqual(diff[1], { field: 'environment', desired: 'as declared', live: 'differs: MODE' });
      await driver.remove(full);
      await driver.remove(entry);
    });

    test('ping answers', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      await driver.ping();
    });

    test('create makes a created container; start runs it; list shows it with labels and image', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const imageId = await driver.ensureImage(RICH_IMAGE, 'never');
      const name = n('run');
      const id = await driver.create(name, { ...sleeper, labels: { team: 'web' } }, owned);
      let live = (await driver.list()).find((c) => c.id === id);
      assert.equal(live?.state, 'created');
      assert.equal(live.startedAt, null);
      assert.equal(live.exitCode, null);
      await driver.start(name);
      live = (await driver.list()).find((c) => c.name === name);
      assert.ok(live, 'the started container is listed by name');
      assert.equal(live.id, id);
      assert.equal(live.state, 'running');
      // Podman names a local short-named image by its full name (localhost/…): the driver gives it as it was asked for.
      assert.equal(live.image, RICH_IMAGE);
      assert.equal(live.imageId, imageId);
      assert.deepEqual(live.labels, { team: 'web', ...owned });
      assert.equal(live.health, null);
      assert.equal(live.exitCode, null);
      assert.equal(live.restartCount, 0);
      assert.ok(live.startedAt !== null && !Number.isNaN(Date.parse(live.startedAt)), `startedAt ${live.startedAt}`);
      await driver.start(id); // starting a running container is not an error
      await driver.remove(id);
    });

    test('labels the image brings are not the container’s: only its own and the ownership labels are listed', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const name = n('imagelabels');
      // `maintainer` overrides the image's value: then it is the container's own.
      const id = await driver.create(name, { ...sleeper, labels: { maintainer: 'the-team' } }, owned);
      const live = (await driver.list()).find((c) => c.id === id);
      assert.deepEqual(live?.labels, { maintainer: 'the-team', ...owned });
      await driver.remove(id);
    });

    test('stop leaves an exited container with the exit code of the stopped process', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const name = n('stop');
      await driver.create(name, sleeper, owned);
      await driver.stop(name, 1); // stopping a never-started container is not an error
      await driver.start(name);
      await driver.stop(name, 1);
      const live = (await driver.list()).find((c) => c.name === name);
      assert.equal(live?.state, 'exited');
      assert.equal(live.exitCode, 143, 'SIGTERM forwarded by init ends sleep: 128 + 15');
      await driver.stop(name, 1); // stopping a stopped container is not an error
      await driver.remove(name);
    });

    test('remove makes it gone; removing again, or a name that never existed, is fine', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const name = n('rm');
      const id = await driver.create(name, sleeper, owned);
      await driver.start(id);
      await driver.remove(name);
      assert.equal((await driver.list()).find((c) => c.id === id || c.name === name), undefined);
      await driver.remove(name);
      await driver.remove(id);
      await driver.remove(n('never-existed'));
    });

    test('create with a taken name → NAME_CONFLICT, and the holder is untouched', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const name = n('taken');
      const id = await driver.create(name, sleeper, owned);
      await rejectsWith(driver.create(name, { ...sleeper, command: ['sleep', '5'] }, owned), 'NAME_CONFLICT', new RegExp(`"/?${name}" is already in use`));
      const live = (await driver.list()).filter((c) => c.name === name);
      assert.deepEqual(live.map((c) => c.id), [id]);
      await driver.remove(id);
    });

    test('create with an image that is not present → IMAGE_NOT_FOUND naming it', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const name = n('noimage');
      // Podman names the reference it resolved (docker.io/…).
      await rejectsWith(driver.create(name, { ...sleeper, image: absentImage }, owned), 'IMAGE_NOT_FOUND', new RegExp(`No such image: (docker\\.io/)?${absentImage}`, 'i'));
      assert.equal((await driver.list()).find((c) => c.name === name), undefined, 'nothing half-created');
    });

    test('an invalid name → DOCKER_FAILED; an invalid volume spec → INVALID_VALUE before anything is created', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      await rejectsWith(driver.create('-bad name', sleeper, owned), 'DOCKER_FAILED', target.podman ? /names must match/ : /Invalid container name/);
      const name = n('badvol');
      await rejectsWith(driver.create(name, { ...sleeper, volumes: ['relative/path:/data'] }, owned), 'INVALID_VALUE', /^volumes: /);
      assert.equal((await driver.list()).find((c) => c.name === name), undefined);
    });

    test('start or stop of a container that does not exist → DOCKER_FAILED naming it', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const name = n('ghost');
      const missing = target.podman ? new RegExp(`no container with name or ID "${name}" found`) : new RegExp(`No such container: ${name}`);
      await rejectsWith(driver.start(name), 'DOCKER_FAILED', missing);
      await rejectsWith(driver.stop(name, 1), 'DOCKER_FAILED', missing);
    });

    test('ensureImage: never and missing return the local id; an absent image → IMAGE_NOT_FOUND under each policy', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const id = await driver.ensureImage(RICH_IMAGE, 'never');
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      assert.equal(await driver.ensureImage(RICH_IMAGE, 'missing'), id);
      // No registry is reachable from here: `always` falls back to the local copy.
      assert.equal(await driver.ensureImage(RICH_IMAGE, 'always'), id);
      await rejectsWith(driver.ensureImage(absentImage, 'never'), 'IMAGE_NOT_FOUND', /pull: never forbids pulling/);
      await rejectsWith(driver.ensureImage(absentImage, 'missing'), 'IMAGE_NOT_FOUND', /not present locally and could not be pulled/);
      await rejectsWith(driver.ensureImage(absentImage, 'always'), 'IMAGE_NOT_FOUND', /no registry reachable.*not present locally/);
    });

    test('a container with a healthcheck starts out `starting`', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const name = n('health');
      await driver.create(name, { ...sleeper, healthcheck: { test: 'true', interval: '1h' } }, owned);
      await driver.start(name);
      assert.equal((await driver.list()).find((c) => c.name === name)?.health, 'starting');
      await driver.remove(name);
    });

    test('events: create, start, kill/die/stop on stop, kill/die/destroy on a forced remove, with labels and exit codes', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const watch = collectEvents(driver);
      try {
        await watch.ready;
        const name = n('events');
        const id = await driver.create(name, sleeper, owned);
        await driver.start(id);
        await watch.until(id, 'start');
        await driver.stop(id, 1);
        // Podman 4.3 sends no kill event and a stop event only sometimes: die says the container ended.
        await watch.until(id, target.podman ? 'die' : 'stop');
        await driver.start(id);
        await driver.remove(id);
        const events = await watch.until(id, 'destroy');
        // Podman 4.3 sends stop only sometimes (before or after die) and no kill: die says the container ended.
        const actions = events.map((e) => e.action).filter((a) => !target.podman || (a !== 'stop' && a !== 'kill'));
        assert.deepEqual(actions, target.podman
          ? ['create', 'start', 'die', 'start', 'die', 'destroy']
          : ['create', 'start', 'kill', 'die', 'stop', 'start', 'kill', 'die', 'destroy']);
        for (const e of events) {
          assert.equal(e.name, name);
          assert.deepEqual(e.labels, owned);
        }
        assert.deepEqual(events.filter((e) => e.action === 'die').map((e) => e.exitCode), [143, 137]);
        assert.deepEqual(watch.errors, []);
      } finally {
        watch.stop();
      }
    });

    test('an unsubscribed watcher receives nothing more', async (t) => {
      const driver = await target.driver(t);
      if (!driver) return;
      const gone = collectEvents(driver);
      await gone.ready;
      gone.stop();
      const other = collectEvents(driver);
      await other.ready;
      const id = await driver.create(n('unsub'), sleeper, owned);
      await driver.remove(id);
      const events = await other.until(id, 'destroy');
      other.stop();
      assert.deepEqual(events.map((e) => e.action), ['create', 'destroy']);
      assert.deepEqual(gone.events.filter((e) => e.id === id), []);
    });
  });
}

for (const target of targets.filter((x) => x.engine)) {
  test(`the ${target.name} side of the contract runs on an image with its own labels, environment, volume and entrypoint`, async (t) => {
    if (!(await target.driver(t))) return;
    const config = (await target.engine!.docker.getImage(RICH_IMAGE).inspect()).Config;
    assert.ok(Object.keys(config.Labels ?? {}).length >= 3, `labels ${JSON.stringify(config.Labels)}`);
    assert.ok(config.Env.some((e) => e === 'RICH_IMAGE=yes') && config.Env.some((e) => e === 'GREETING=from-the-image'), `env ${JSON.stringify(config.Env)}`);
    assert.deepEqual(Object.keys(config.Volumes ?? {}), ['/data']);
    assert.deepEqual(config.Entrypoint, ['/bin/entrypoint.sh']);
  });
}

// ---------------------------------------------------------------- networks and volumes (docs/compose.md)
for (const target of targets) {
  describe(`networks and volumes contract: ${target.name}`, () => {
    const net = `gft-${harness.runId}-net-${target.name}`;
    const vol = `gft-${harness.runId}-vol-${target.name}`;
    const box = `gft-${harness.runId}-netbox-${target.name}`;
    after(async () => {
      const engine = target.engine;
      if (!engine) return;
      await engine.rmForce(box).catch(() => {});
      await engine.docker.getNetwork(net).remove().catch(() => {});
      await engine.docker.getVolume(vol).remove().catch(() => {});
    });

    test('a network is created with its labels, joined with an alias, and cannot be removed while in use', async (t) => {
      const d = await target.driver(t);
      if (!d) return;
      const ops = d.networks!;
      await ops.create(net, { internal: true, labels: { team: 'a', 'io.gitfleet.managed-by': 'forged' } }, { ...owned, 'io.gitfleet.resource': `network/${net}` });
      const listed = (await ops.list()).find((n) => n.name === net);
      assert.ok(listed, 'the created network is listed');
      assert.equal(listed.internal, true);
      assert.equal(listed.labels.team, 'a');
      assert.equal(listed.labels['io.gitfleet.managed-by'], 'gitfleet', 'the caller’s ownership label wins over the spec’s');
      await rejectsWith(ops.create(net, {}, owned), 'DOCKER_FAILED', /already exists/);
      if (target.podman) {
        // Podman with CNI gives an internal network no DNS: aliases there would never resolve, so they are refused.
        await rejectsWith(d.create(box, { image: RICH_IMAGE, command: ['sleep', '3600'], init: true, networks: { [net]: { aliases: ['db-alias'] } } }, owned), 'DOCKER_FAILED', /internal network no DNS/);
      }
      await d.create(box, { image: RICH_IMAGE, command: ['sleep', '3600'], init: true, networks: target.podman ? [net] : { [net]: { aliases: ['db-alias'] } } }, owned);
      // Podman attaches a container to its networks at create, Docker at start.
      assert.deepEqual((await ops.list()).find((n) => n.name === net)?.containers, target.podman ? [box] : [], 'endpoints of a created container');
      await d.start(box);
      assert.deepEqual((await ops.list()).find((n) => n.name === net)?.containers, [box]);
      await rejectsWith(ops.remove(net), 'DOCKER_FAILED', target.podman ? /network is being used/ : /active endpoints/);
      await d.remove(box);
      await ops.remove(net);
      assert.equal((await ops.list()).some((n) => n.name === net), false);
      await ops.remove(net); // already gone: no error
    });

    test('a container naming a network that does not exist cannot start', async (t) => {
      const d = await target.driver(t);
      if (!d) return;
      const create = d.create(box, { image: RICH_IMAGE, command: ['sleep', '3600'], init: true, networks: [`${net}-nope`] }, owned);
      if (target.podman) {
        // Podman refuses it at create already.
        await rejectsWith(create, 'DOCKER_FAILED', /network not found/);
        assert.equal((await d.list()).find((c) => c.name === box), undefined);
        return;
      }
      await create;
      await rejectsWith(d.start(box), 'DOCKER_FAILED', /not found/);
      await d.remove(box);
    });

    test('a volume is created with its labels, kept while in use, removed when asked', async (t) => {
      const d = await target.driver(t);
      if (!d) return;
      const ops = d.volumes!;
      await ops.create(vol, { labels: { keep: 'yes' } }, { ...owned, 'io.gitfleet.prune': 'true' });
      const listed = (await ops.list()).find((v) => v.name === vol);
      assert.ok(listed);
      assert.equal(listed.driver, 'local');
      assert.equal(listed.labels.keep, 'yes');
      assert.equal(listed.labels['io.gitfleet.prune'], 'true');
      await d.create(box, { image: RICH_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', volumes: [`${vol}:/data`] }, owned);
      await rejectsWith(ops.remove(vol), 'DOCKER_FAILED', target.podman ? /volume is being used/ : /in use/);
      await d.remove(box);
      await ops.remove(vol);
      assert.equal((await ops.list()).some((v) => v.name === vol), false);
      await ops.remove(vol);
    });
  });
}
