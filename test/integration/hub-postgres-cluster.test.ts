// Hub replicas as a cluster on one real PostgreSQL (a private cluster): real
// `gitfleet hub` processes, real agent reporters (HubClient) in their own
// processes. Every replica's index, summary and connectivity follow the
// others' writes within a second; reconcile-now asked of one replica reaches
// an agent connected to another; a replica started later loads and follows;
// one replica leads and another takes over when it is killed; a killed
// replica's hosts go offline on the others; a replica whose change feed
// connection is cut catches up on what it missed.
import { test, after, before } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { api, makeStatus, removeDir, startAgent, startHubProcess, tempDir, waitFor, ENROLL } from './hub-harness.ts';
import type { AgentProcess, HubProcess } from './hub-harness.ts';
import type { FleetSummary, HostSummary } from '../../hub/fleet/fleet-index.ts';
import { requireComponent } from '../harness/require.ts';
import { postgresMissing, startPostgres } from '../harness/postgres.ts';
import type { PostgresCluster } from '../harness/postgres.ts';

const missing = postgresMissing();
const dirs: string[] = [];
const agents: AgentProcess[] = [];
const hubs: HubProcess[] = [];
let cluster: PostgresCluster | null = null;

before(async () => {
  if (missing === null) cluster = await startPostgres();
});
after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await Promise.all(hubs.map((h) => h.stop()));
  await cluster?.stop();
  dirs.forEach(removeDir);
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

async function replica(database: string): Promise<HubProcess> {
  // Heartbeat 2 s (the harness's): a replica beats every second and counts as dead after 3 s of silence.
  const hub = await startHubProcess({ dataDir: dir('hub-cluster-data'), env: { GITFLEET_HUB_DATABASE: database } });
  hubs.push(hub);
  return hub;
}

async function agentOn(hub: HubProcess, host: string, stateDir = dir(`agent-${host}`)): Promise<AgentProcess> {
  const a = await startAgent({ hubUrl: hub.agentUrl, host, stateDir, token: ENROLL, place: 'prod/eu', tags: ['prod'] });
  agents.push(a);
  await waitFor(`${host} to connect`, () => a.connected());
  return a;
}

const summaryOf = async (hub: HubProcess, id: string) => {
  const r = await api<{ summary: HostSummary }>(hub.url, `/api/v1/hosts/${id}`);
  return r.status === 200 ? r.body.summary : null;
};
const fleet = async (hub: HubProcess) => (await api<FleetSummary>(hub.url, '/api/v1/summary')).body;

/** Waits until `probe` holds on every replica; returns the ms it took after `since`. */
async function onAll(what: string, replicas: HubProcess[], probe: (hub: HubProcess) => Promise<boolean>, since = Date.now(), timeoutMs = 15_000): Promise<number> {
  await waitFor(what, async () => (await Promise.all(replicas.map(probe))).every(Boolean), timeoutMs);
  return Date.now() - since;
}

const leaders = (hub: HubProcess) => hub.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('this replica leads')).length;

test('replicas on one PostgreSQL: coherent view, fleet-wide reconcile-now, late joiner, leader hand-over, dead replica', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const database = await cluster!.createDatabase();
  const a = await replica(database);
  const b = await replica(database);

  const web1 = await agentOn(a, 'web-01');
  const web2 = await agentOn(b, 'web-02');
  // Enrolled and connected on one replica: known and Online on both.
  const seen = await onAll('both hosts Online on both replicas', [a, b], async (h) => (await summaryOf(h, 'web-01'))?.connectivity === 'Online' && (await summaryOf(h, 'web-02'))?.connectivity === 'Online');
  t.diagnostic(`enrollment + connection visible on both replicas after ${seen} ms`);

  // A status stored by A shows in B's index, summary and roll-ups within a second.
  web1.send({ status: makeStatus('web-01', { sync: 'Drifted', note: 'drift via A' }) });
  const onA = Date.now();
  await waitFor('A to store the drift', async () => (await summaryOf(a, 'web-01'))?.sync === 'Drifted');
  const lag = await onAll('B to show the drift', [b], async (h) => (await summaryOf(h, 'web-01'))?.sync === 'Drifted', onA);
  t.diagnostic(`a status stored by A visible on B after ${lag} ms`);
  assert.ok(lag <= 1000, `change visible on the other replica after ${lag} ms (goal ≤ 1 s)`);
  const [fa, fb] = await Promise.all([fleet(a), fleet(b)]);
  assert.equal(fb.total, 2);
  assert.deepEqual(fb.sync, fa.sync, 'the fleet summary is the same on both replicas');
  assert.deepEqual(fb.connectivity, fa.connectivity);
  assert.equal(fb.sync.Drifted, 1);

  // reconcile-now asked of B reaches web-01, whose session is on A, and web-02 on B itself.
  const r = await api<{ reached: string[]; notConnected: string[] }>(b.url, '/api/v1/reconcile', { method: 'POST', body: { all: true, reason: 'cluster-wide check' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual([...r.body.reached].sort(), ['web-01', 'web-02']);
  await waitFor('web-01 (on A) to get reconcile-now from B', () => web1.reconciles().some((x) => x.includes('cluster-wide check')));
  await waitFor('web-02 (on B) to get reconcile-now', () => web2.reconciles().some((x) => x.includes('cluster-wide check')));

  // A replica started later loads the fleet and follows.
  const c = await replica(database);
  const cs = await summaryOf(c, 'web-01');
  assert.equal(cs?.sync, 'Drifted');
  assert.equal(cs?.connectivity, 'Online', 'the late replica knows web-01 is connected to A');
  web2.send({ status: makeStatus('web-02', { sync: 'Missing' }) });
  await onAll('all three replicas to show web-02 Missing', [a, b, c], async (h) => (await summaryOf(h, 'web-02'))?.sync === 'Missing');

  // Exactly one replica leads; killing it hands the lead to another.
  await waitFor('one leader', () => [a, b, c].map(leaders).reduce((x, y) => x + y) === 1);
  const leader = [a, b, c].find((h) => leaders(h) === 1)!;
  const others = [a, b, c].filter((h) => h !== leader);
  await leader.kill();
  const handed = Date.now();
  await waitFor('another replica to lead', () => others.some((h) => leaders(h) === 1), 15_000);
  t.diagnostic(`leader hand-over after ${Date.now() - handed} ms`);
  assert.equal(others.map(leaders).reduce((x, y) => x + y), 1, 'one leader at a time');

  // The killed replica's hosts go offline on the others (no replica holds their session), then come back through another.
  const orphan = leader === a ? 'web-01' : leader === b ? 'web-02' : null;
  if (orphan) {
    const offline = await onAll(`${orphan} Offline on the surviving replicas`, others, async (h) => (await summaryOf(h, orphan))?.connectivity === 'Offline', handed);
    t.diagnostic(`${orphan} shown Offline ${offline} ms after its replica was killed`);
    const agent = orphan === 'web-01' ? web1 : web2;
    await agent.stop();
    const moved = await startAgent({ hubUrl: others[0]!.agentUrl, host: orphan, stateDir: agent.stateDir, place: 'prod/eu', tags: ['prod'] });
    agents.push(moved);
    await onAll(`${orphan} Online again on the surviving replicas`, others, async (h) => (await summaryOf(h, orphan))?.connectivity === 'Online');
  }
});

test('a replica whose change feed connection is cut catches up on what it missed', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const database = await cluster!.createDatabase();
  const a = await replica(database);
  const b = await replica(database);
  const web = await agentOn(a, 'db-01');
  await onAll('db-01 on B', [b], async (h) => (await summaryOf(h, 'db-01'))?.connectivity === 'Online');

  // Cut every follower connection (both replicas'), then write while they are down.
  const admin = new pg.Client({ connectionString: database });
  await admin.connect();
  try {
    const cut = await admin.query<{ n: string }>(`SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = 'gitfleet-hub-follow' AND datname = current_database()`);
    assert.equal(Number(cut.rows[0]!.n), 2);
  } finally {
    await admin.end();
  }
  web.send({ status: makeStatus('db-01', { sync: 'Failed', note: 'while the feed was down' }) });
  await waitFor('B to catch up on the missed change', async () => (await summaryOf(b, 'db-01'))?.sync === 'Failed');
  await waitFor('B to log a catch-up that read the change', () => b.logs.find((l) => l.msg === 'change feed reconnected; caught up' && Number(l.changed) >= 1));
  // And it follows again afterwards.
  web.send({ status: makeStatus('db-01', { sync: 'InSync', note: 'after the reconnect' }) });
  await waitFor('B to follow after the reconnect', async () => (await summaryOf(b, 'db-01'))?.sync === 'InSync');
});

test('a replica records its sessions again when the database lost them (swept during an outage)', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const database = await cluster!.createDatabase();
  const a = await replica(database);
  const b = await replica(database);
  await agentOn(a, 'app-01');
  await onAll('app-01 Online on B', [b], async (h) => (await summaryOf(h, 'app-01'))?.connectivity === 'Online');
  // What the leader's sweep does to a replica that could not beat for longer than the window.
  const admin = new pg.Client({ connectionString: database });
  await admin.connect();
  try {
    await admin.query(`UPDATE hosts SET session_replica = NULL, changed_at = clock_timestamp() WHERE id = 'app-01'`);
    await admin.query(`SELECT pg_notify('gitfleet_changes', $1)`, [JSON.stringify({ r: 'sweeper', h: ['app-01'] })]);
  } finally {
    await admin.end();
  }
  await onAll('B to show app-01 Offline (no replica holds it in the database)', [b], async (h) => (await summaryOf(h, 'app-01'))?.connectivity === 'Offline');
  const lost = Date.now();
  // A re-asserts every ten beats of 1 s; a loaded machine runs beats late (and skips one while the last is under way).
  await onAll('A to record the session again and B to show it Online', [b], async (h) => (await summaryOf(h, 'app-01'))?.connectivity === 'Online', lost, 45_000);
  t.diagnostic(`session re-asserted after ${Date.now() - lost} ms`);
});

test('a replica whose pool is exhausted keeps beating on its own connection: its hosts are never swept offline', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const database = await cluster!.createDatabase();
  const a = await replica(database);
  await waitFor('A to lead (it does the sweeping)', () => leaders(a) === 1);
  const b = await replica(database);
  await agentOn(b, 'busy-01');
  await onAll('busy-01 Online on A', [a], async (h) => (await summaryOf(h, 'busy-01'))?.connectivity === 'Online');
  // Every read of events waits on this lock: 30 host pages asked of B hold all of its pool's 10 connections.
  const admin = new pg.Client({ connectionString: database });
  await admin.connect();
  const swept: string[] = [];
  try {
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
    const stuck = Array.from({ length: 30 }, () => api(b.url, '/api/v1/hosts/busy-01').catch(() => null));
    // Three windows (the harness's heartbeat 2 s: B beats every second, dead after 3 s of silence).
    const until = Date.now() + 9000;
    while (Date.now() < until) {
      // The summary comes from A's index (no events read): Online = 1 connected host.
      const online = (await fleet(a)).connectivity;
      if (online.Online !== 1) swept.push(JSON.stringify(online));
      await new Promise((r) => setTimeout(r, 250));
    }
    const waiting = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
    t.diagnostic(`${waiting.rows[0]!.n} statements were waiting on the lock`);
    assert.ok(Number(waiting.rows[0]!.n) >= 10, 'B\'s pool was exhausted by the stuck reads');
    await admin.query('COMMIT');
    await Promise.all(stuck);
  } finally {
    await admin.end();
  }
  assert.deepEqual(swept, [], 'busy-01 stayed Online on A while B\'s pool was stuck');
  assert.equal(b.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('sessions of this replica recorded again')).length, 0);
});

test('the leader sweeps a replica silent for four windows, not one whose beats are merely late', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const database = await cluster!.createDatabase();
  const a = await replica(database);
  await waitFor('A to lead (it does the sweeping)', () => leaders(a) === 1);
  const b = await replica(database);
  await agentOn(b, 'late-01');
  const admin = new pg.Client({ connectionString: database });
  await admin.connect();
  t.after(() => admin.end());
  const holder = async () => (await admin.query<{ r: string | null }>(`SELECT session_replica AS r FROM hosts WHERE id = 'late-01'`)).rows[0]?.r ?? null;
  await waitFor('late-01 recorded as B\'s session', async () => (await holder()) !== null);
  const bId = (await holder())!;
  const logged = (hub: HubProcess, start: string) => hub.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(start)).length;
  // The leader itself must have beaten for the whole sweep delay (four windows of 3 s) before it sweeps anyone.
  await new Promise((r) => setTimeout(r, 13_000));

  // B's beats wait on a lock on its own heartbeat row for two windows (6 s): they fail, A's go on.
  const failedBefore = logged(b, 'replica heartbeat failed');
  const holders: Array<string | null> = [];
  await admin.query('BEGIN');
  await admin.query('SELECT 1 FROM hub_replicas WHERE id = $1 FOR UPDATE', [bId]);
  const until = Date.now() + 6000;
  while (Date.now() < until) {
    holders.push(await holder());
    await new Promise((r) => setTimeout(r, 250));
  }
  await admin.query('COMMIT');
  await waitFor('B to beat again', async () => (await admin.query(`SELECT 1 FROM hub_replicas WHERE id = $1 AND seen_at > now() - interval '1 second'`, [bId])).rowCount === 1);
  for (let i = 0; i < 8; i++) {
    holders.push(await holder());
    await new Promise((r) => setTimeout(r, 250));
  }
  // B's warning reaches this process through a pipe: wait for it rather than expect it already read.
  await waitFor('B to log that its beats were late for longer than the window', () => logged(b, 'replica heartbeat failed') > failedBefore, 10_000);
  assert.deepEqual([...new Set(holders)], [bId], 'late-01 stayed B\'s session in the database');
  assert.equal(logged(a, 'hosts of replicas that stopped beating'), 0, 'A swept nothing');
  assert.equal(logged(b, 'sessions of this replica recorded again'), 0);

  // A replica that is really gone is swept: its hosts are no one's session in the database.
  await b.kill();
  const killed = Date.now();
  // Four windows (12 s) of silence, then A's next beat: 45 s leaves room for a loaded machine's late beats.
  await waitFor('A to sweep the killed replica\'s session', async () => (await holder()) === null, 45_000);
  const sweptAfter = Date.now() - killed;
  t.diagnostic(`the killed replica's session swept after ${sweptAfter} ms`);
  // The silence began at B's last beat, which can precede the kill by up to one window (3 s):
  // measured from the kill, four windows of silence are at least 9 s (one run swept after 11.9 s).
  assert.ok(sweptAfter >= 9_000, `swept after ${sweptAfter} ms: not before four windows of silence`);
  // A logs the sweep after its transaction commits, and its log reaches this process through a pipe: wait for the line.
  await waitFor('A to log the sweep', () => logged(a, 'hosts of replicas that stopped beating') >= 1, 5_000);
  assert.equal(logged(a, 'hosts of replicas that stopped beating'), 1);
});

test('a session claim still waiting in the write queue is not re-asserted (nor logged as lost) by the replica', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const database = await cluster!.createDatabase();
  const b = await replica(database);
  const first = await agentOn(b, 'queued-01');
  const admin = new pg.Client({ connectionString: database });
  await admin.connect();
  t.after(() => admin.end());
  const holder = async () => (await admin.query<{ r: string | null }>(`SELECT session_replica AS r FROM hosts WHERE id = 'queued-01'`)).rows[0]?.r ?? null;
  await waitFor('queued-01 recorded as B\'s session', async () => (await holder()) !== null);
  await first.stop();
  await waitFor('queued-01 released', async () => (await holder()) === null);

  // Every batch of writes waits on this lock (a batch is one statement over every table); B's liveness connection does not.
  await admin.query('BEGIN');
  await admin.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
  const again = await startAgent({ hubUrl: b.agentUrl, host: 'queued-01', stateDir: first.stateDir, place: 'prod/eu', tags: ['prod'] });
  agents.push(again);
  await waitFor('queued-01 connected again (its claim queued behind the lock)', () => again.connected());
  // Ten beats of 1 s: B re-asserts its sessions meanwhile, the queued claim excepted.
  const holders: Array<string | null> = [];
  const until = Date.now() + 12_000;
  while (Date.now() < until) {
    holders.push(await holder());
    await new Promise((r) => setTimeout(r, 500));
  }
  await admin.query('COMMIT');
  await waitFor('the queued claim stored', async () => (await holder()) !== null);
  assert.deepEqual([...new Set(holders)], [null], 'the claim was left to the write queue');
  assert.equal(b.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('sessions of this replica recorded again')).length, 0);
});
