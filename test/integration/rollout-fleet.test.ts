// Staged rollouts on a simulated fleet (docs/rollouts.md): a real hub in this
// process on a fake fleet repo, and simulated agents over real WebSockets
// (test/harness/rollout-sim-fleet.ts) that apply exactly what they are
// released. 1,000 agents through three percentage waves with a bad commit
// that crosses the failure budget in the second wave; a hub restart in the
// middle of a rollout; agents offline during their wave.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningHub } from '../../hub/main.ts';
import { planWaves } from '../../hub/rollout/wave-plan.ts';
import type { RolloutView, RolloutHostView } from '../../hub/rollout/coordinator.ts';
import { removeDir, tempDir, waitFor } from './hub-harness.ts';
import { api, readHead, startRolloutFleet, startRolloutHub } from './rollout-hub-fixture.ts';

const OLD = '1'.repeat(40);
const GOOD = '2'.repeat(40);
const BAD = '3'.repeat(40);
const dirs: string[] = [];
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  for (const d of dirs) removeDir(d);
});

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

async function fleetOf(n: number, prefix: string, fails?: (host: string, revision: string) => boolean) {
  const dataDir = tempDir('rollout-fleet');
  dirs.push(dataDir);
  const hostIds = ids(n, prefix);
  const { repo, hub, fleet, close } = await startRolloutFleet({ dataDir, ids: hostIds, initialRevision: OLD, fails, reportTimeoutMs: 60_000 });
  closers.push(close);
  return { dataDir, hostIds, repo, hub, fleet };
}

async function rolloutOf(hub: RunningHub, revision: string): Promise<RolloutView | undefined> {
  const { body } = await api<{ rollouts: RolloutView[] }>(hub, 'GET', '/api/v1/rollouts');
  return body.rollouts.find((r) => r.revision === revision);
}

test('1,000 agents, three waves by percentage: a bad commit crosses the failure budget in the second wave, halts, rolls back, and never reaches the third', async () => {
  const policy = 'waves: [{ percent: 10 }, { percent: 30 }, { percent: 100 }]\nsoak: 1s\nfailureBudget: 5\nonHalt: rollback\n';
  const hostIds = ids(1000, 'big');
  // The same plan the hub makes (deterministic per commit): 10 hosts of the second wave fail the bad commit.
  const planned = planWaves({ waves: [{ percent: 10 }, { percent: 30 }, { percent: 100 }] }, hostIds.map((id) => ({ id, tags: ['prod'] })), BAD);
  assert.deepEqual(planned.map((w) => w.hosts.length), [100, 270, 630]);
  const failing = new Set(planned[1]!.hosts.slice(0, 10));
  const { hub, fleet, repo } = await fleetOf(1000, 'big', (host, revision) => revision === BAD && failing.has(host));

  repo.commit(BAD, policy);
  const started = Date.now();
  await readHead(hub);
  const halted = await waitFor('the rollout to halt', async () => {
    const r = await rolloutOf(hub, BAD);
    return r?.state === 'halted' ? r : null;
  }, 120_000);
  assert.deepEqual(halted.waves.map((w) => w.hosts), [100, 270, 630]);
  assert.ok(halted.waves[0]!.closedAt !== null && halted.waves[1]!.openedAt !== null, 'wave 1 closed, wave 2 opened');
  assert.equal(halted.waves[2]!.openedAt, null, 'the third wave never opened');
  assert.ok(halted.failed.length > 5 && halted.failed.every((h) => failing.has(h)), `failed: ${halted.failed.join(', ')}`);
  assert.match(halted.haltReason!, /over the failure budget of 5/);

  // onHalt: rollback — every updated host is released the previous revision again and goes back to it.
  const wave3 = new Set(planned[2]!.hosts);
  await waitFor('the updated hosts to roll back', () => hostIds.every((id) => hub.index.get(id)?.lastAppliedRevision === OLD && !fleet.agents.get(id)!.reconciling), 60_000);
  for (const id of hostIds) {
    const agent = fleet.agents.get(id)!;
    if (wave3.has(id)) {
      assert.ok(agent.releases.every((r) => r.revision !== BAD), `${id} (third wave) was never released the bad commit`);
      assert.deepEqual(agent.appliedLog, [], `${id} (third wave) applied nothing`);
    }
    assert.equal(agent.released?.revision, OLD);
  }
  const detail = await api<{ rollout: RolloutView; hosts: RolloutHostView[] }>(hub, 'GET', `/api/v1/rollouts/${halted.id}`);
  assert.equal(detail.body.hosts.length, 1000);
  process.stdout.write(`# 1,000 agents: halted ${Date.now() - started} ms after the commit, ${halted.failed.length} failed of the second wave\n`);
});

test('a hub restart in the middle of a rollout resumes where it was; agents offline during their wave catch up when they return', async () => {
  const policy = 'waves: [{ percent: 20 }, { percent: 100 }]\nsoak: 2s\n';
  const { hub, fleet, repo, hostIds, dataDir } = await fleetOf(50, 'mid');
  const planned = planWaves({ waves: [{ percent: 20 }, { percent: 100 }] }, hostIds.map((id) => ({ id, tags: ['prod'] })), GOOD);
  // Two hosts of the first wave are offline when it opens: the wave waits for them (no wave timeout).
  const away = planned[0]!.hosts.slice(0, 2);
  await fleet.setOffline(away, true);
  repo.commit(GOOD, policy);
  await readHead(hub);
  await waitFor('the reachable first-wave hosts to apply', () => planned[0]!.hosts.filter((h) => !away.includes(h)).every((h) => hub.index.get(h)?.lastAppliedRevision === GOOD), 30_000);
  await new Promise((r) => setTimeout(r, 500));
  let r = (await rolloutOf(hub, GOOD))!;
  assert.equal(r.current, 0, 'the first wave waits for its offline hosts');
  assert.equal(r.waves[0]!.progress.pending, 2);
  await fleet.setOffline(away, false);
  await waitFor('the returning hosts to catch up', () => away.every((h) => hub.index.get(h)?.lastAppliedRevision === GOOD), 30_000);
  r = await waitFor('the first wave to close', async () => {
    const x = await rolloutOf(hub, GOOD);
    return x && x.current === 1 ? x : null;
  });
  const openedFirst = r.waves[0]!.openedAt;

  // Restart the hub during the soak: same data directory, the agents reconnect.
  await hub.close();
  const again = await startRolloutHub({ dataDir, repo });
  closers.push(() => again.close());
  fleet.retarget(again.agentUrl);
  const resumed = (await rolloutOf(again, GOOD))!;
  assert.equal(resumed.current, 1, 'still between the waves after the restart');
  assert.equal(resumed.waves[1]!.openedAt, null, 'the second wave did not open early');
  const done = await waitFor('the rollout to finish on the restarted hub', async () => {
    const x = await rolloutOf(again, GOOD);
    return x?.state === 'done' ? x : null;
  }, 60_000);
  assert.equal(done.waves[0]!.openedAt, openedFirst, 'the first wave was not opened again');
  assert.ok(Date.parse(done.waves[1]!.openedAt!) - Date.parse(done.waves[0]!.closedAt!) >= 2000, 'the soak was kept across the restart');
  assert.ok(hostIds.every((h) => again.index.get(h)?.lastAppliedRevision === GOOD));
  assert.deepEqual(done.history.filter((h) => h.action === 'opened').length, 2);
});

test('admin actions over the API: pause holds the next wave, promote opens it now, abort stops; each recorded with the token and time; viewers may not act', async () => {
  const policy = 'waves: [{ percent: 10 }, { percent: 50 }, { percent: 100 }]\nsoak: 1h\n';
  const { hub, repo } = await fleetOf(20, 'act');
  repo.commit(GOOD, policy);
  await readHead(hub);
  const first = await waitFor('the first wave to be done (then a one-hour soak)', async () => {
    const x = await rolloutOf(hub, GOOD);
    return x && x.current === 1 ? x : null;
  }, 30_000);
  const { VIEWER } = await import('./hub-harness.ts');
  assert.equal((await api(hub, 'POST', `/api/v1/rollouts/${first.id}/promote`, VIEWER)).status, 403);
  assert.equal((await api(hub, 'POST', `/api/v1/rollouts/${first.id}/explode`)).status, 404);
  assert.equal((await api(hub, 'POST', '/api/v1/rollouts/nope/pause')).status, 404);
  assert.equal((await api<{ rollout: RolloutView }>(hub, 'POST', `/api/v1/rollouts/${first.id}/pause`)).body.rollout.state, 'paused');
  assert.equal((await api(hub, 'POST', `/api/v1/rollouts/${first.id}/pause`)).status, 409);
  const promoted = await api<{ rollout: RolloutView }>(hub, 'POST', `/api/v1/rollouts/${first.id}/promote`);
  assert.notEqual(promoted.body.rollout.waves[1]!.openedAt, null, 'promote skips the hour of soak');
  const aborted = await api<{ rollout: RolloutView }>(hub, 'POST', `/api/v1/rollouts/${first.id}/abort`);
  assert.equal(aborted.body.rollout.state, 'aborted');
  const actions = aborted.body.rollout.history.filter((h) => h.by === 'admin').map((h) => h.action);
  assert.deepEqual(actions, ['pause', 'opened', 'promote', 'abort']);
  assert.ok(aborted.body.rollout.history.every((h) => !Number.isNaN(Date.parse(h.at))));
  // A newer commit supersedes an unfinished rollout.
  repo.commit(BAD, policy);
  await readHead(hub);
  const rollouts = (await api<{ rollouts: RolloutView[] }>(hub, 'GET', '/api/v1/rollouts')).body.rollouts;
  assert.equal(rollouts[0]!.revision, BAD);
  assert.equal(rollouts.find((x) => x.revision === GOOD)!.state, 'superseded');
});
