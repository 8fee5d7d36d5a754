// A one-shot run (`agent --once`, `plan`: the agent built without its hub
// connection) holds to the last release the hub sent, kept in the state
// directory: a person's manual sync does not slip past a staged rollout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { RELEASE_FILE } from '../../agent/rollout/release-gate.ts';
import { fleetFixture } from '../helpers/agent-fixture.ts';

const file = (v: string) => ({ files: { '/srv/app.conf': { content: `version ${v}` } } });

test('a one-shot run applies no newer revision than the hub released; without a release it follows the head', async (t) => {
  const fixture = await fleetFixture({
    config: { hub: 'ws://127.0.0.1:9/agent', files: { allow: ['/srv'] } },
    drivers: { containers: new MemoryContainerDriver(), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/srv'] }) },
  });
  t.after(() => fixture.dispose());
  const first = fixture.commit(file('1'), 'first');
  assert.equal((await fixture.run('manual')).revision, first, 'no release yet: the head');
  writeFileSync(join(fixture.stateDir, RELEASE_FILE), JSON.stringify({ type: 'release', underPolicy: true, revision: first, rollout: 'r1' }));
  const second = fixture.commit(file('2'), 'second');
  await fixture.agent();
  const held = await fixture.run('manual');
  assert.equal(held.revision, first, 'held at the released revision although the head moved');
  writeFileSync(join(fixture.stateDir, RELEASE_FILE), JSON.stringify({ type: 'release', underPolicy: true, revision: second, rollout: 'r1' }));
  await fixture.agent();
  assert.equal((await fixture.run('manual')).revision, second, 'released: applied');
});
