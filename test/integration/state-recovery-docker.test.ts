// A lost inventory on a real Docker engine: after inventory.json is garbled
// and its copy gone, a restarted agent takes back its containers by their
// labels — proven by what it then does: nothing is recreated, and a container
// removed from Git is pruned (only an owner prunes).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { DockerTestHarness, TEST_IMAGE, dockerMissingReason } from '../harness/docker.ts';
import { missingGitServer } from '../harness/git-servers.ts';
import { requireComponent } from '../harness/require.ts';
import { fleetFixture } from '../helpers/agent-fixture.ts';

const docker = new DockerTestHarness();
after(() => docker.cleanup());

test('inventory garbled and its copy lost: the restarted agent owns its containers again by their labels', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', (await dockerMissingReason()) ?? missingGitServer('daemon'))) return;
  // Real containers; units and files in memory (this test is about the engine's labels).
  const fleet = await fleetFixture({ drivers: { units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/srv'] }) } });
  try {
    const [keep, drop] = [docker.name('keep'), docker.name('drop')];
    const base = { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', labels: docker.labels, stop_grace_period: '1s' };
    fleet.commit({ containers: { [keep]: base, [drop]: base } }, 'two');
    assert.equal((await fleet.run('startup')).result, 'Succeeded');
    const before = { keep: (await docker.inspect(keep)).Id, drop: (await docker.inspect(drop)).Id };

    writeFileSync(join(fleet.stateDir, 'inventory.json'), '{"version":1,"resources":{"container/');
    rmSync(join(fleet.stateDir, 'inventory.json.bak'));
    const agent = await fleet.agent(); // a restart
    const recovered = await agent.store.loadInventory();
    assert.deepEqual(Object.keys(recovered.resources).sort(), [`container/${drop}`, `container/${keep}`].sort());
    assert.ok(existsSync(join(fleet.stateDir, 'inventory.json.corrupt')));

    // The same head: nothing is recreated (the labels' config hash still matches Git).
    assert.equal((await fleet.run('startup')).result, 'NoChange');
    assert.deepEqual({ keep: (await docker.inspect(keep)).Id, drop: (await docker.inspect(drop)).Id }, before);

    fleet.commit({ containers: { [keep]: base } }, 'one');
    const outcome = await fleet.run('poll');
    assert.equal(outcome.result, 'Succeeded', outcome.message);
    assert.equal(await docker.inspect(drop).then(() => 'present', () => 'gone'), 'gone', 'pruned: ownership was recovered');
    assert.equal((await docker.inspect(keep)).Id, before.keep);
  } finally {
    fleet.dispose();
  }
});
