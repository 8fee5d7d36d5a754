// Staged rollouts on a cluster of hub replicas (docs/rollouts.md, On a
// cluster): three real `gitfleet hub` processes on one real PostgreSQL
// (a private cluster), reading a real Git repository; simulated agents
// (real WebSockets, real protocol, applying exactly what they are released)
// spread over the replicas. The leader's coordinator plans and advances; the
// hosts of the second wave, connected to replicas that do not lead, are held
// until their wave opens and then released by the replica they are on. The
// leader is killed during a soak: another replica takes over and completes
// the rollout without reopening the first wave. An admin pause sent to a
// replica that does not lead stops the leader's releases, and is audited once.
// A replica whose feed connection is down while a head arrives (its notices
// lost) still takes that head and releases its hosts when their wave opens.
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import type { RolloutView, RolloutHostView } from '../../hub/rollout/coordinator.ts';
import type { RolloutRecord } from '../../hub/rollout/rollout-record.ts';
import { SimFleet } from '../harness/rollout-sim-fleet.ts';
import { WorkRepo } from '../harness/git-servers.ts';
import { requireComponent } from '../harness/require.ts';
import { postgresMissing, startPostgres } from '../harness/postgres.ts';
import type { PostgresCluster } from '../harness/postgres.ts';
import { api, ENROLL, removeDir, startHubProcess, tempDir, waitFor } from './hub-harness.ts';
import type { HubProcess } from './hub-harness.ts';

const missing = postgresMissing();
const dirs: string[] = [];
const hubs: HubProcess[] = [];
const fleets: SimFleet[] = [];
let pgCluster: PostgresCluster | null = null;

before(async () => {
  if (missing === null) pgCluster = await startPostgres();
});
after(async () => {
  await Promise.all(fleets.map((f) => f.close()));
  await Promise.all(hubs.map((h) => h.stop()));
  await pgCluster?.stop();
  dirs.forEach(removeDir);
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

const CANARY = 'canary-01';
const hostIds = [CANARY, 'web-01', 'web-02', 'web-03', 'web-04'];
const policy = (soak: string) => `waves:\n  - name: canary\n    hosts: [${CANARY}]\n  - name: rest\n    percent: 100\nsoak: ${soak}\n`;
const app = (version: string) => `files:\n  /srv/app.conf:\n    content: "version ${version}"\n`;

type RolloutDetail = { rollout: RolloutView & { history: RolloutRecord['history'] }; hosts: RolloutHostView[] };

const leads = (hub: HubProcess) => hub.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('this replica leads:')).length;

async function rolloutOf(hub: HubProcess, revision: string): Promise<RolloutDetail | null> {
  const list = await api<{ rollouts: RolloutView[] }>(hub.url, '/api/v1/rollouts');
  if (list.status !== 200) return null;
  const found = list.body.rollouts.find((r) => r.revision === revision);
  if (!found) return null;
  const detail = await api<RolloutDetail>(hub.url, `/api/v1/rollouts/${encodeURIComponent(found.id)}`);
  return detail.status === 200 ? detail.body : null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a cluster runs staged rollouts: held on followers until released, leader failover mid-soak, pause through a follower', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const database = await pgCluster!.createDatabase();
  const repo = new WorkRepo(join(dir('rollout-cluster-repo'), 'fleet.git'));
  const files: Record<string, string> = { 'prod/app.yaml': app('1') };
  for (const h of hostIds) files[`prod/${h}/host.yaml`] = '';
  const c1 = repo.commit(files, 'first: no rollout policy yet');
  repo.push();

  const env = {
    GITFLEET_HUB_DATABASE: database,
    GITFLEET_HUB_REPO: repo.bare,
    GITFLEET_HUB_POLL_INTERVAL: '1s',
    GITFLEET_HUB_ENROLL_RATE_PER_ADDRESS: '100000',
    GITFLEET_HUB_ENROLL_RATE_PER_TOKEN: '100000',
  };
  for (let i = 0; i < 3; i++) hubs.push(await startHubProcess({ dataDir: dir('rollout-cluster-hub'), env }));
  await waitFor('one replica to lead', () => hubs.map(leads).reduce((a, b) => a + b) === 1);
  const leader = hubs.find((h) => leads(h) === 1)!;
  const [f1, f2] = hubs.filter((h) => h !== leader) as [HubProcess, HubProcess];

  // The canary and web-01 on the leader; the rest on the two followers.
  const onLeader = new SimFleet({ url: leader.agentUrl, token: ENROLL, ids: [CANARY, 'web-01'], initialRevision: c1 });
  const onF1 = new SimFleet({ url: f1.agentUrl, token: ENROLL, ids: ['web-02', 'web-03'], initialRevision: c1 });
  const onF2 = new SimFleet({ url: f2.agentUrl, token: ENROLL, ids: ['web-04'], initialRevision: c1 });
  fleets.push(onLeader, onF1, onF2);
  await Promise.all(fleets.map((f) => f.connectAll()));
  const agent = (id: string) => (onLeader.agents.get(id) ?? onF1.agents.get(id) ?? onF2.agents.get(id))!;
  const followerHosts = ['web-02', 'web-03', 'web-04'];
  await waitFor('every host reported the first commit, seen on the leader', async () => {
    const r = await Promise.all(hostIds.map((h) => api<{ summary: { lastAppliedRevision: string | null } }>(leader.url, `/api/v1/hosts/${h}`)));
    return r.every((x) => x.status === 200 && x.body.summary.lastAppliedRevision === c1);
  });

  // --- 1. A commit with a policy: wave 2's hosts on the followers are held, then released by their own replica.
  const c2 = repo.commit({ 'rollout.yaml': policy('2s'), 'prod/app.yaml': app('2') }, 'second: canary then the rest');
  repo.push();
  await waitFor('the canary to apply the second commit', () => agent(CANARY).applied === c2, 20_000);
  const r2 = await waitFor('the rollout on a follower', () => rolloutOf(f1, c2));
  assert.deepEqual(r2.rollout.waves.map((w) => w.hosts), [1, 4], 'the canary, then the 4 others');
  // Held: every follower host was told, by the replica it is connected to, that it may run only the first commit.
  await waitFor('the follower hosts to be told they are held', () => followerHosts.every((h) => agent(h).released?.underPolicy === true && agent(h).released?.revision === c1));
  for (const h of followerHosts) assert.equal(agent(h).applied, c1, `${h} must not run the second commit before its wave`);
  await waitFor('the follower hosts to be released and apply the second commit', () => followerHosts.every((h) => agent(h).applied === c2), 30_000);
  for (const h of followerHosts) assert.deepEqual(agent(h).appliedLog, [c2]);
  const done2 = await waitFor('the rollout done, seen on the other follower', async () => {
    const r = await rolloutOf(f2, c2);
    return r?.rollout.state === 'done' ? r : null;
  });
  // The soak by the leader's own clock (the canary's wave closed → wave 2 opened): this process noticing the
  // canary late on a loaded machine must not make the soak look short.
  const released = Date.parse(done2.rollout.waves[1]!.openedAt!) - Date.parse(done2.rollout.waves[0]!.closedAt!);
  t.diagnostic(`wave 2 opened ${released} ms after the canary's wave closed (soak 2 s)`);
  assert.ok(released >= 1500, `released after the soak, not before (${released} ms)`);
  assert.equal(done2.hosts.filter((h) => h.progress === 'done').length, 5, 'host progress comes from the fleet-wide index');

  // --- 2. The leader is killed during the soak: another replica takes over and finishes without reopening wave 1.
  const c3 = repo.commit({ 'rollout.yaml': policy('6s'), 'prod/app.yaml': app('3') }, 'third: a longer soak');
  repo.push();
  const soaking = await waitFor('the canary wave closed and the soak running', async () => {
    const r = await rolloutOf(f1, c3);
    return r && r.rollout.waves[0]!.closedAt !== null && r.rollout.soakUntil !== null ? r : null;
  }, 20_000);
  const wave1Opened = soaking.rollout.waves[0]!.openedAt;
  const canaryReleases = agent(CANARY).releases.length;
  const movedReleases = agent('web-01').releases.length;
  // The leader's agents come back through a survivor (as an agent behind a load balancer would).
  onLeader.retarget(f1.agentUrl);
  await leader.kill();
  const killedAt = Date.now();
  const survivors = [f1, f2];
  await waitFor('a survivor to lead', () => survivors.some((h) => leads(h) === 1), 15_000);
  const newLeader = survivors.find((h) => leads(h) === 1)!;
  const follower = survivors.find((h) => h !== newLeader)!;
  t.diagnostic(`leader hand-over after ${Date.now() - killedAt} ms`);
  await waitFor('the new leader to resume the rollouts', () => newLeader.logs.some((l) => l.msg === 'this replica leads the rollouts; resuming them from the database'));
  for (const h of followerHosts) assert.equal(agent(h).applied, c2, `${h} is held during the soak, across the failover`);
  // web-01 (wave 2) reconnected to a survivor: on its welcome it is told it is still held, by the rollout of the third commit.
  const moved = await waitFor('web-01 welcomed by a survivor and told its release', () => agent('web-01').releases.length > movedReleases && agent('web-01').releases.at(-1));
  assert.equal(moved.revision, c2, 'web-01 is held at the second commit after reconnecting elsewhere');
  assert.equal(moved.rollout, soaking.rollout.id);
  assert.equal(agent('web-01').applied, c2);
  await waitFor('the rest to apply the third commit after the soak', () => hostIds.every((h) => agent(h).applied === c3), 30_000);
  const done3 = await waitFor('the rollout done', async () => {
    const r = await rolloutOf(follower, c3);
    return r?.rollout.state === 'done' ? r : null;
  }, 20_000);
  assert.equal(done3.rollout.waves[0]!.openedAt, wave1Opened, 'wave 1 kept its opening time');
  const opened = done3.rollout.history.filter((a) => a.action === 'opened');
  assert.equal(opened.length, 2, `each wave opened once: ${JSON.stringify(done3.rollout.history)}`);
  const lateBy = Date.parse(done3.rollout.waves[1]!.openedAt!) - Date.parse(soaking.rollout.soakUntil!);
  t.diagnostic(`after the failover the new leader opened wave 2 ${lateBy} ms after the soak's end`);
  assert.ok(lateBy >= 0, 'wave 2 opened only after the soak');
  // The canary was never sent back or re-released anything but the third commit.
  assert.ok(agent(CANARY).releases.slice(canaryReleases).every((r) => r.revision === c3), 'the canary stays released at the third commit');
  assert.deepEqual(agent(CANARY).appliedLog, [c2, c3]);

  // --- 3. A pause sent to the replica that does not lead stops the leader's releases.
  const c4 = repo.commit({ 'rollout.yaml': policy('1s'), 'prod/app.yaml': app('4') }, 'fourth: paused through a follower');
  repo.push();
  const r4 = await waitFor('the fourth rollout on the follower', () => rolloutOf(follower, c4), 20_000);
  const paused = await api<{ rollout: RolloutView }>(follower.url, `/api/v1/rollouts/${encodeURIComponent(r4.rollout.id)}/pause`, { method: 'POST' });
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  assert.equal(paused.body.rollout.state, 'paused');
  const onLeaderView = await rolloutOf(newLeader, c4);
  assert.equal(onLeaderView?.rollout.state, 'paused', "the leader's coordinator took the pause");
  await waitFor('the canary to apply the fourth commit (its wave was open)', () => agent(CANARY).applied === c4, 20_000);
  // Canary done, soak 1 s: a running rollout would open wave 2 within about 2 s. Paused, it does not.
  await sleep(4000);
  const held = await rolloutOf(newLeader, c4);
  assert.equal(held?.rollout.waves[1]!.openedAt, null, 'the paused rollout opened no wave');
  for (const h of hostIds.filter((x) => x !== CANARY)) {
    assert.equal(agent(h).applied, c3, `${h} held by the pause`);
    assert.equal(agent(h).released?.revision, c3);
  }
  const audit = await api<{ entries: Array<{ action: string; target: string; outcome: string }> }>(newLeader.url, '/api/v1/audit');
  const pauses = audit.body.entries.filter((e) => e.action === 'rollout.pause');
  assert.equal(pauses.length, 1, `one audit entry for the pause: ${JSON.stringify(pauses)}`);
  assert.equal(pauses[0]!.outcome, 'ok');
  assert.ok(held!.rollout.history.some((a) => a.action === 'pause' && a.by === 'admin'), 'the rollout records who paused it');

  const resumed = await api<{ rollout: RolloutView }>(follower.url, `/api/v1/rollouts/${encodeURIComponent(r4.rollout.id)}/resume`, { method: 'POST' });
  assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
  await waitFor('every host at the fourth commit after the resume', () => hostIds.every((h) => agent(h).applied === c4), 30_000);
});

test("a follower that missed the head's notices (feed connection down) takes the head from the database and releases its hosts", async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const database = await pgCluster!.createDatabase();
  const repo = new WorkRepo(join(dir('rollout-cluster-repo'), 'fleet.git'));
  const ids = ['cut-canary', 'cut-01', 'cut-02'];
  const files: Record<string, string> = { 'prod/app.yaml': app('1') };
  for (const h of ids) files[`prod/${h}/host.yaml`] = '';
  const c1 = repo.commit(files, 'first');
  repo.push();
  const env = { GITFLEET_HUB_DATABASE: database, GITFLEET_HUB_REPO: repo.bare, GITFLEET_HUB_POLL_INTERVAL: '1s', GITFLEET_HUB_ENROLL_RATE_PER_ADDRESS: '100000' };
  const a = await startHubProcess({ dataDir: dir('rollout-cluster-hub'), env });
  hubs.push(a);
  await waitFor('A to lead', () => leads(a) === 1);
  const b = await startHubProcess({ dataDir: dir('rollout-cluster-hub'), env });
  hubs.push(b);
  const onA = new SimFleet({ url: a.agentUrl, token: ENROLL, ids: ['cut-canary'], initialRevision: c1 });
  const onB = new SimFleet({ url: b.agentUrl, token: ENROLL, ids: ['cut-01', 'cut-02'], initialRevision: c1 });
  fleets.push(onA, onB);
  await Promise.all([onA.connectAll(), onB.connectAll()]);
  await waitFor('B to release its hosts the first head', () => ['cut-01', 'cut-02'].every((h) => onB.agents.get(h)!.released !== null));

  // Every change-feed connection is cut every 100 ms for 4 s: B hears none of the notices about the new head.
  const admin = new pg.Client({ connectionString: database });
  await admin.connect();
  const cutUntil = Date.now() + 4000;
  const c2 = repo.commit({ 'rollout.yaml': policy('1s').replace('canary-01', 'cut-canary'), 'prod/app.yaml': app('2') }, 'second, while B is deaf');
  repo.push();
  try {
    while (Date.now() < cutUntil) {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gitfleet-hub-follow' AND datname = current_database()`);
      await sleep(100);
    }
  } finally {
    await admin.end();
  }
  await waitFor('the canary (on A) to apply the second commit', () => onA.agents.get('cut-canary')!.applied === c2, 15_000);
  const canaryAt = Date.now();
  await waitFor("B's hosts to apply the second commit", () => ['cut-01', 'cut-02'].every((h) => onB.agents.get(h)!.applied === c2), 30_000);
  t.diagnostic(`B's hosts released ${Date.now() - canaryAt} ms after the canary applied (soak 1 s, leader's notices repeated every 5 s)`);
  for (const h of ['cut-01', 'cut-02']) {
    assert.deepEqual(onB.agents.get(h)!.appliedLog, [c2]);
    assert.ok(onB.agents.get(h)!.releases.every((r) => r.revision !== c2 || r.rollout !== undefined), 'released the second commit only by its rollout');
  }
  // The leader's view came through the cut too: every host done, its own canary included (a catch-up read must
  // not put back a status A stored while the read was under way, nor an older read land after a newer one).
  const done = await waitFor('the rollout done, seen on A', async () => {
    const r = await rolloutOf(a, c2);
    return r?.rollout.state === 'done' ? r : null;
  });
  assert.deepEqual(done.hosts.map((h) => `${h.id} ${h.progress}`).sort(), ids.map((h) => `${h} done`).sort());
});
