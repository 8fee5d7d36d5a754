// The event watch and the driver across a real daemon outage: a private
// dockerd (never the shared one) is stopped and started again under a watcher.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerContainerDriver } from '../../agent/drivers/docker/docker-container-driver.ts';
import type { ContainerEvent } from '../../agent/drivers/types.ts';
import { isGitfleetError } from '../../shared/errors.ts';
import { requireComponent } from '../harness/require.ts';
import { DockerTestHarness, PrivateDockerd, TEST_IMAGE, dockerMissingReason } from '../harness/docker.ts';

const shared = new DockerTestHarness();
let daemon: PrivateDockerd | undefined;
after(() => daemon?.dispose());

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('watch reports a daemon outage as DOCKER_UNAVAILABLE, reconnects by itself and delivers events again', async (t) => {
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  daemon = new PrivateDockerd();
  await daemon.start();
  await daemon.loadImageFrom(shared.docker, TEST_IMAGE);
  const driver = new DockerContainerDriver({ socketPath: daemon.socketPath, reconnectMinMs: 50, reconnectMaxMs: 200 });

  const events: ContainerEvent[] = [];
  const errors: Error[] = [];
  let connects = 0;
  const unwatch = driver.watch((e) => events.push(e), (e) => errors.push(e), () => connects++);
  t.after(unwatch);
  await waitFor('the first connect', () => connects === 1);

  const spec = { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none' };
  const id = await driver.create('outage', spec, { 'io.gitfleet.managed-by': 'gitfleet' });
  await driver.start(id);
  await waitFor('start before the outage', () => events.some((e) => e.action === 'start'));
  assert.equal(errors.length, 0, errors.map(String).join('; '));

  await daemon.stop();
  await waitFor('the outage to be reported', () => errors.length > 0);
  for (const e of errors) assert.ok(isGitfleetError(e, 'DOCKER_UNAVAILABLE'), String(e));
  assert.ok(errors.some((e) => e.message.includes(daemon?.socketPath ?? '?')), 'the socket is named');
  await assert.rejects(driver.list(), (e: unknown) => isGitfleetError(e, 'DOCKER_UNAVAILABLE'));
  // it keeps retrying while the daemon is down, with backoff (50 ms, then more: later on a loaded machine)
  await waitFor('a second outage report (a retry)', () => errors.length >= 2);
  assert.equal(connects, 1);

  await daemon.start();
  await waitFor('the reconnect', () => connects === 2);
  const before = events.length;
  // Without live-restore the daemon's restart stopped the container; starting it
  // again must reach the watcher through the new stream.
  const live = (await driver.list()).find((c) => c.id === id);
  assert.equal(live?.state, 'exited');
  await driver.start(id);
  await waitFor('start after the reconnect', () => events.slice(before).some((e) => e.action === 'start' && e.id === id));
  await driver.remove(id);
  await waitFor('destroy after the reconnect', () => events.some((e) => e.action === 'destroy' && e.id === id));
  const starts = events.filter((e) => e.action === 'start' && e.id === id);
  assert.equal(starts.length, 2, 'no duplicate from the replay on reconnect');
});
