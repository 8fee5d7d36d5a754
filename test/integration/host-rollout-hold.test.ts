// A host's rollout and adoption, as GET /api/v1/hosts/:id and `gitfleet
// status HOST` give them, against a real hub (in this process) with simulated
// agents: a host whose wave is not open says which rollout holds it, in which
// wave, and what it was released; the canary says its rollout released the
// new commit; each resource's adoption state is listed, and an agent's hostile
// adoption text reaches the terminal escaped.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gitfleet as runCli } from '../helpers/gitfleet-cli.ts';
import type { ResourceStatus } from '../../shared/status.ts';
import { removeDir, tempDir, VIEWER } from './hub-harness.ts';
import { api, rollOutToCanary, startRolloutFleet } from './rollout-hub-fixture.ts';

const OLD = '8'.repeat(40);
const NEW = '9'.repeat(40);
const dirs: string[] = [];
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  for (const d of dirs) removeDir(d);
});

/** The CLI as an operator holding `token` runs it: a process of its own, since the hub answering it runs in this one. */
const gitfleet = (args: string[], token = VIEWER) => runCli(args, { env: { GITFLEET_API_TOKEN: token, GITFLEET_CONFIG_DIR: join(dirs[0]!, 'cli') } });

const adoptedResources: ResourceStatus[] = [
  { id: 'container/app', sync: 'InSync', health: 'Healthy', diff: [], adoption: 'Adopted' },
  { id: 'file/etc/app.conf', sync: 'Drifted', health: 'Healthy', diff: [{ field: 'content', desired: 'a', live: 'b' }], message: 'adopt: rewrite (differs: content)', adoption: 'Rewrite' },
  { id: 'unit/odd.service', sync: 'InSync', health: 'Healthy', diff: [], adoption: '\u001b[31mNewer\u0007' },
];

interface HostAnswer {
  rollout: { id: string; state: string; revision: string; wave: string; waveNumber: number; waves: number; released: string | null; held: boolean } | null;
  status: { resources: ResourceStatus[] } | null;
}

test('a held host: the API and `gitfleet status HOST` name the rollout, its wave and the release; adopted resources are listed', async () => {
  const dataDir = tempDir('host-rollout-hold');
  dirs.push(dataDir);
  const ids = ['hold-0', 'hold-1', 'hold-2'];
  const { repo, hub, close } = await startRolloutFleet({ dataDir, ids, initialRevision: OLD, resources: (host) => (host === 'hold-1' ? adoptedResources : [{ id: 'container/app', sync: 'InSync', health: 'Healthy', diff: [] }]) });
  closers.push(close);

  const before = await api<HostAnswer>(hub, 'GET', '/api/v1/hosts/hold-1', VIEWER);
  assert.equal(before.status, 200);
  assert.equal(before.body.rollout, null, 'no rollout holds a host before one exists');

  const id = await rollOutToCanary(hub, repo, NEW, 'waves:\n  - name: canary\n    hosts: [hold-0]\n  - percent: 100\nsoak: 1h\n');

  const held = await api<HostAnswer>(hub, 'GET', '/api/v1/hosts/hold-1', VIEWER);
  assert.deepEqual(held.body.rollout, { id, state: 'running', revision: NEW, wave: 'wave 2', waveNumber: 2, waves: 2, released: OLD, held: true });
  assert.deepEqual(held.body.status?.resources.map((r) => r.adoption), ['Adopted', 'Rewrite', '\u001b[31mNewer\u0007']);
  const canary = await api<HostAnswer>(hub, 'GET', '/api/v1/hosts/hold-0', VIEWER);
  assert.deepEqual(canary.body.rollout, { id, state: 'running', revision: NEW, wave: 'canary', waveNumber: 1, waves: 2, released: NEW, held: false });

  const hubArgs = ['--hub', hub.url];
  const status = await gitfleet(['status', 'hold-1', ...hubArgs]);
  assert.equal(status.code, 1, `behind the head is not fine: ${status.stderr}`);
  assert.match(status.stdout, new RegExp(`^held by rollout ${id} \\(wave 2 of 2, released ${OLD.slice(0, 12)}; rollout running\\)$`, 'm'));
  assert.match(status.stdout, /^ {2}file\/etc\/app\.conf {2}Drifted {2}Healthy {2}adoption Rewrite {2}adopt: rewrite \(differs: content\)$/m);
  assert.match(status.stdout, /^adopted resources \(3\):\n {2}container\/app {2}Adopted\n {2}file\/etc\/app\.conf {2}Rewrite\n {2}unit\/odd\.service {2}\S*Newer\S*$/m);
  assert.doesNotMatch(status.stdout, /[\u0000-\u0008\u000b-\u001f\u007f]/, 'the agent-written adoption text is escaped');

  const canaryStatus = await gitfleet(['status', 'hold-0', ...hubArgs]);
  assert.match(canaryStatus.stdout, new RegExp(`^released by rollout ${id} \\(wave 1 of 2 "canary", released ${NEW.slice(0, 12)}; rollout running\\)$`, 'm'));
  assert.doesNotMatch(canaryStatus.stdout, /adopted resources/);

  const json = await gitfleet(['status', 'hold-1', '--json', ...hubArgs]);
  assert.equal((JSON.parse(json.stdout) as HostAnswer).rollout?.held, true);
});
