// A container that dies as soon as it starts is not restarted in a tight loop:
// after a few restarts the agent backs off and says so in the status.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { DockerTestHarness, TEST_IMAGE, dockerMissingReason } from '../harness/docker.ts';
import { missingGitServer } from '../harness/git-servers.ts';
import { requireComponent } from '../harness/require.ts';
import { fleetFixture } from '../helpers/agent-fixture.ts';
import { waitFor } from './hub-harness.ts';

const docker = new DockerTestHarness();
after(() => docker.cleanup());

test('a crash-looping container is restarted a bounded number of times, then backed off and reported', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', (await dockerMissingReason()) ?? missingGitServer('daemon'))) return;
  const fleet = await fleetFixture({ host: 'flap1' });
  try {
    const name = docker.name('crash');
    fleet.commit({ containers: { [name]: { image: TEST_IMAGE, command: ['sh', '-c', 'exit 3'], init: true, network: 'none', labels: docker.labels } } }, 'crash');
    const agent = await fleet.agent();
    await agent.cycle.run('startup');
    const startedAt = new Set<string>();
    // Each Docker `die` event asks for a reconcile; ten of them in a row, as a daemon would see: each after the
    // container has died (a fixed pause could end before it did on a loaded machine, and restart nothing).
    for (let i = 0; i < 10; i++) {
      await waitFor(`${name} to have died (round ${i + 1})`, async () => !(await docker.inspect(name)).State.Running, 20_000);
      await agent.cycle.run('docker-event');
      startedAt.add((await docker.inspect(name)).State.StartedAt);
    }

    assert.ok(startedAt.size <= 5, `started ${startedAt.size} times in 10 reconciles`);
    const status = agent.recorder.snapshot.resources.find((r) => r.id === `container/${name}`);
    assert.equal(status?.health, 'Degraded');
    assert.match(status?.message ?? '', /flapping: restarted more than 3 times/);
  } finally {
    fleet.dispose();
  }
});
