// A staged rollout with real agent daemons (the agent's own composition root,
// Git source and release gate; in-memory drivers) and a real hub reading a
// real Git repository: a good commit goes through the canary and then the
// rest; a bad commit fails in the canary, halts the rollout, and never
// reaches the other hosts — although their agents poll the repository and
// see it as the head.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pino from 'pino';
import { loadAgentConfig } from '../../agent/config/agent-config.ts';
import { createAgentRuntime } from '../../agent/main.ts';
import type { AgentRuntime } from '../../agent/main.ts';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { GitRepoView } from '../../hub/git/git-repo-view.ts';
import type { RunningHub } from '../../hub/main.ts';
import { WorkRepo } from '../harness/git-servers.ts';
import { ENROLL, removeDir, tempDir, waitFor } from './hub-harness.ts';
import { startRolloutHub } from './rollout-hub-fixture.ts';

const hosts = ['canary-01', 'web-01', 'web-02'];
const policy = 'waves:\n  - name: canary\n    hosts: [canary-01]\n  - percent: 100\nsoak: 1s\nfailureBudget: 0\nonHalt: rollback\n';
const app = (version: string, image = 'local/app:1') =>
  `files:\n  /srv/app.conf:\n    content: "version ${version}"\ncontainers:\n  app:\n    image: ${image}\n    init: true\n`;

const root = tempDir('rollout-agents');
const logger = pino({ level: process.env.GITFLEET_TEST_LOG ?? 'silent' });
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  removeDir(root);
});

interface Host {
  id: string;
  runtime: AgentRuntime;
  files: MemoryFileDriver;
}

async function startAgent(id: string, hub: RunningHub, repo: WorkRepo): Promise<Host> {
  const files = new MemoryFileDriver({ allow: ['/srv'] });
  const config = loadAgentConfig({
    env: {},
    overrides: { repo: repo.bare, host: id, stateDir: join(root, id), hub: hub.agentUrl, token: ENROLL, interval: '1s', healthTimeout: '3s', healthSettle: '100ms', retryInterval: '1h', files: { allow: ['/srv'] }, policy: join(root, 'no-policy.yaml') },
  });
  const runtime = await createAgentRuntime(config, logger.child({ host: id }), {
    drivers: { containers: new MemoryContainerDriver({ images: ['local/app:1'] }), units: new MemoryUnitDriver(), files },
  });
  runtime.hub?.start();
  void runtime.daemon.start();
  closers.push(async () => {
    await runtime.daemon.stop();
    await runtime.hub?.stop();
  });
  return { id, runtime, files };
}

test('real agents: a good commit goes canary first then the rest; a bad one fails in the canary and never reaches the others', async () => {
  const repo = new WorkRepo(join(root, 'fleet.git'));
  closers.push(async () => repo.dispose());
  const files: Record<string, string> = { 'rollout.yaml': policy, 'prod/app.yaml': app('1') };
  for (const h of hosts) files[`prod/${h}/host.yaml`] = '';
  const first = repo.commit(files, 'first');
  repo.push();

  const view = new GitRepoView({ repo: repo.bare, ref: 'main', path: '.' }, { cacheDir: join(root, 'hub-git'), logger });
  const hub = await startRolloutHub({ dataDir: join(root, 'hub'), repo: view });
  closers.push(() => hub.close());
  await hub.tracker!.refresh();
  const agents = await Promise.all(hosts.map((h) => startAgent(h, hub, repo)));
  await waitFor('every host at the first commit (no rollout: nothing to stage yet)', () => hosts.every((h) => hub.index.get(h)?.lastAppliedRevision === first), 30_000);

  // A good commit: the canary first, the others only after it is done and the soak is over.
  const good = repo.commit({ 'prod/app.yaml': app('2') }, 'good');
  repo.push();
  await hub.tracker!.refresh();
  await waitFor('the canary at the good commit', () => hub.index.get('canary-01')?.lastAppliedRevision === good, 30_000);
  assert.ok(['web-01', 'web-02'].every((h) => hub.index.get(h)?.lastAppliedRevision === first), 'the others wait for the canary');
  await waitFor('every host at the good commit', () => hosts.every((h) => hub.index.get(h)?.lastAppliedRevision === good), 30_000);
  const goodRollout = await waitFor('the good rollout to be done', () => {
    const r = hub.rollouts!.list().find((x) => x.revision === good);
    return r?.state === 'done' ? r : null;
  }, 10_000);
  assert.deepEqual(goodRollout.waves.map((w) => w.name), ['canary', 'wave 2']);
  // The soak, by the hub's own clock: this test noticing the canary late (a loaded machine) must not shorten it.
  const soaked = Date.parse(goodRollout.waves[1]!.openedAt!) - Date.parse(goodRollout.waves[0]!.closedAt!);
  assert.ok(soaked >= 900, `the others were released after the soak (wave 2 opened ${soaked} ms after the canary's wave closed)`);
  for (const a of agents) assert.equal((await a.files.observe(['/srv/app.conf']))[0]!.content, 'version 2');

  // A bad commit: its image does not exist, so it fails on the canary, which rolls back.
  const bad = repo.commit({ 'prod/app.yaml': app('3', 'local/missing:1') }, 'bad');
  repo.push();
  await hub.tracker!.refresh();
  const halted = await waitFor('the bad rollout to halt', () => {
    const r = hub.rollouts!.list().find((x) => x.revision === bad);
    return r?.state === 'halted' ? r : null;
  }, 30_000);
  assert.deepEqual(halted.failed, ['canary-01']);
  assert.equal(halted.waves[1]!.openedAt, null);
  await waitFor('the canary back at the good commit', () => hub.index.get('canary-01')?.lastAppliedRevision === good && hub.index.get('canary-01')?.lastAttemptedRevision === bad, 15_000);
  // The others poll the repository every second and see the bad head; give them a few polls.
  await new Promise((r) => setTimeout(r, 3000));
  for (const h of ['web-01', 'web-02']) {
    const s = hub.index.get(h)!;
    assert.equal(s.lastAppliedRevision, good, `${h} stays at the good commit`);
    assert.equal(s.lastAttemptedRevision, good, `${h} never attempted the bad commit`);
    assert.equal((await agents.find((a) => a.id === h)!.files.observe(['/srv/app.conf']))[0]!.content, 'version 2');
  }
});
