// A lost inventory on a real Docker engine: after inventory.json is garbled
// and its copy gone, a restarted agent takes back its containers by their
// labels — proven by what it then does: nothing is recreated, and a container
// removed from Git is pruned (only an owner prunes). The agent has an engine of
// its own, as on a real host: recovery takes back every container labelled as the
// agent's, so on the shared test engine it would take other tests' containers too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import Dockerode from 'dockerode';
import { TEST_IMAGE, dockerMissingReason } from '../harness/docker.ts';
import { PrivateDockerd } from '../harness/private-dockerd.ts';
import { missingGitServer } from '../harness/git-servers.ts';
import { requireComponent } from '../harness/require.ts';
import { fleetFixture } from '../helpers/agent-fixture.ts';

const engine = new PrivateDockerd();
after(() => engine.dispose());

test('inventory garbled and its copy lost: the restarted agent owns its containers again by their labels', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', (await dockerMissingReason()) ?? missingGitServer('daemon'))) return;
  // Real containers; units and files in memory (this test is about the engine's labels).
  await engine.start();
  await engine.copyImage(TEST_IMAGE);
  const client = new Dockerode({ socketPath: engine.socket });
  const docker = { inspect: (name: string) => client.getContainer(name).inspect() };
  const fleet = await fleetFixture({ config: { docker: { socket: engine.socket } }, drivers: { units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/srv'] }) } });
  try {
    const [keep, drop] = ['keep', 'drop'];
    const base = { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', stop_grace_period: '1s' };
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
