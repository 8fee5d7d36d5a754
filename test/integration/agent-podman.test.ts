// The agent on Podman (its Docker-compatible API, rootful, as on a Red Hat-family
// or edge host), from a real local Git repository: containers with environment,
// a healthcheck, a port served on the host network and a named volume converge;
// the next pass changes nothing; a container removed by hand with podman comes
// back. No bridge network here: that needs Podman in a network namespace of
// its own (podman-bridge-network.test.ts), as Podman refuses a subnet that
// overlaps the machine's own (TEST-NET-1, the only range tests may use).
// Healthchecks are run by the harness as Podman's systemd timers would on a
// real host (no systemd as PID 1 on the test machines).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { TEST_IMAGE } from '../harness/docker.ts';
import { PODMAN_SOCKET, PodmanTestHarness, podmanMissingReason } from '../harness/podman.ts';
import { requireComponent } from '../harness/require.ts';
import { fleetFixture, type FleetFixture } from '../helpers/agent-fixture.ts';
import { missingGitServer } from '../harness/git-servers.ts';

const podman = new PodmanTestHarness();
const web = podman.name('web');
const worker = podman.name('worker');
const volume = podman.name('data');
const labels = podman.labels;
let fleet: FleetFixture;
let missing: string | null = null;
let port = 0;
let stopHealthchecks = () => {};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

before(async () => {
  missing = (await podmanMissingReason()) ?? missingGitServer('daemon');
  if (missing !== null) return;
  fleet = await fleetFixture({ config: { docker: { socket: PODMAN_SOCKET } } });
  port = await freePort();
  stopHealthchecks = podman.driveHealthchecks();
});
after(async () => {
  stopHealthchecks();
  await podman.cleanup().catch(() => {});
  await podman.docker.getVolume(volume).remove().catch(() => {});
  fleet?.dispose();
});

function declare(): void {
  fleet.commit({
    containers: {
      [web]: {
        image: TEST_IMAGE, command: ['httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/www'], init: true, labels, stop_grace_period: '1s',
        network: 'host', env: { GREETING: 'hello', MODE: 'edge' },
        volumes: [`${volume}:/data`],
        healthcheck: { test: ['CMD', 'true'], interval: '1s', retries: 3 },
      },
      [worker]: { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', labels, stop_grace_period: '1s', env: { ROLE: 'worker' } },
    },
    volumes: { [volume]: { labels } },
  }, 'podman host');
}

const ids = async () => ({ web: (await podman.inspect(web)).Id, worker: (await podman.inspect(worker)).Id });

test('first converge on Podman: containers run with their env, host network, volume and a passing healthcheck', async (t) => {
  if (!requireComponent(t, 'Podman and git', missing)) return;
  declare();
  const outcome = await fleet.run('startup');
  assert.equal(outcome.result, 'Succeeded', outcome.message);
  const info = await podman.inspect(web);
  assert.equal(info.State.Running, true);
  assert.equal(info.Config.Labels['io.gitfleet.managed-by'], 'gitfleet');
  assert.ok(info.Config.Env.includes('GREETING=hello') && info.Config.Env.includes('MODE=edge'), JSON.stringify(info.Config.Env));
  assert.equal(info.HostConfig.NetworkMode, 'host');
  assert.ok(info.Mounts.some((m) => m.Name === volume && m.Destination === '/data'), JSON.stringify(info.Mounts));
  assert.equal((info.State as { Health?: { Status?: string } }).Health?.Status, 'healthy');
  const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  assert.equal(body.trim(), 'gitfleet busybox', 'the container serves on the host network');
  assert.equal((await podman.inspect(worker)).State.Running, true);
  assert.equal((await podman.docker.getVolume(volume).inspect()).Labels?.['io.gitfleet.managed-by'], 'gitfleet');
});

test('the next pass on Podman changes nothing, also after an agent restart', async (t) => {
  if (!requireComponent(t, 'Podman and git', missing)) return;
  const before = await ids();
  assert.equal((await fleet.run('poll')).result, 'NoChange');
  await fleet.agent();
  assert.equal((await fleet.run('drift-check')).result, 'NoChange');
  assert.deepEqual(await ids(), before);
});

test('a container removed by hand with podman comes back; the other is untouched', async (t) => {
  if (!requireComponent(t, 'Podman and git', missing)) return;
  const before = await ids();
  await podman.rmForce(web);
  const outcome = await fleet.run('docker-event');
  assert.equal(outcome.result, 'Succeeded', outcome.message);
  const now = await ids();
  assert.notEqual(now.web, before.web);
  assert.equal(now.worker, before.worker);
  assert.equal((await podman.inspect(web)).State.Running, true);
  assert.equal((await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim(), 'gitfleet busybox');
});
