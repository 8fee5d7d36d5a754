// Notifications and history on a cluster of hub replicas (docs/notifications.md,
// "On a cluster"): two real `gitfleet hub` processes on one real PostgreSQL,
// simulated agents spread over both, a real webhook receiver on loopback.
// Hosts failing on either replica give ONE grouped message (only the leader
// sends, fed from the fleet-wide index); the history has one writer per
// minute slot (a trigger in the test database counts every write); when the
// leader is killed the other replica leads, does not announce the earlier
// failure again, and delivers the next event as "more" of the same group,
// then the recovery naming every host.
import { test, after, before } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ADMIN, ENROLL, api, removeDir, startHubProcess, tempDir, waitFor } from './hub-harness.ts';
import { launchBrowser, missingBrowser } from '../harness/browser.ts';
import { missingWebBuild, signIn } from '../e2e/web-hub.ts';
import type { HubProcess } from './hub-harness.ts';
import { connectSimAgent, simStatus } from './sim-agent.ts';
import type { SimAgent } from './sim-agent.ts';
import { startReceiver } from '../harness/http-receiver.ts';
import type { Receiver } from '../harness/http-receiver.ts';
import { requireComponent } from '../harness/require.ts';
import { postgresMissing, startPostgres } from '../harness/postgres.ts';
import type { PostgresCluster } from '../harness/postgres.ts';
import { PostgresFleetStore } from '../../hub/store/postgres-store.ts';
import type { NotifyMessage } from '../../hub/notify/message.ts';
import type { NotificationsView } from '../../hub/notify/notifications.ts';
import type { HostSummary } from '../../hub/fleet/fleet-index.ts';

const missing = postgresMissing();
const REV1 = 'a1'.repeat(20);
const REV2 = 'b2'.repeat(20);
const dirs: string[] = [];
const cleanups: Array<() => Promise<unknown> | unknown> = [];
let cluster: PostgresCluster | null = null;

before(async () => {
  if (missing === null) cluster = await startPostgres();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await cluster?.stop();
  dirs.forEach(removeDir);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leads = (hub: HubProcess) => hub.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('this replica leads'));
const sends = (hub: HubProcess) => hub.logs.filter((l) => l.msg === 'sending notifications');

/** Migrates the database and counts every write to the fleet history in a table of the test's own. */
async function prepareDatabase(url: string): Promise<pg.Client> {
  const store = await PostgresFleetStore.open(url, {});
  await store.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`
    CREATE TABLE history_writes (resolution TEXT, scope TEXT, at TEXT, pid INT DEFAULT pg_backend_pid());
    CREATE FUNCTION count_history_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO history_writes (resolution, scope, at) VALUES (NEW.resolution, NEW.scope, NEW.at); RETURN NEW; END $$;
    CREATE TRIGGER count_history_writes AFTER INSERT OR UPDATE ON fleet_history FOR EACH ROW EXECUTE FUNCTION count_history_write();`);
  return client;
}

test('two replicas on one PostgreSQL: one grouped message for failures on both, one history writer, failover without repeating', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const database = await cluster!.createDatabase();
  const db = await prepareDatabase(database);
  cleanups.push(() => db.end());
  const hook: Receiver = await startReceiver();
  cleanups.push(() => hook.close());
  const configDir = tempDir('cluster-notify');
  dirs.push(configDir);
  writeFileSync(join(configDir, 'hook.secret'), 'cluster-hook-secret-0123456789\n');
  writeFileSync(
    join(configDir, 'hub.yaml'),
    `notify:
  webUrl: https://hub.example.com
  groupWindow: 3s
  sinks:
    ops: { type: webhook, url: "${hook.url}/hook", secretFile: ${join(configDir, 'hook.secret')} }
  rules:
    - { name: fleet, events: [failed, recovered], sinks: [ops] }
`,
  );
  const replica = async () => {
    const dataDir = tempDir('cluster-notify-data');
    dirs.push(dataDir);
    const hub = await startHubProcess({ dataDir, args: ['--config', join(configDir, 'hub.yaml')], env: { GITFLEET_HUB_DATABASE: database } });
    cleanups.push(() => hub.stop());
    return hub;
  };
  const a = await replica();
  await waitFor('A to lead', () => leads(a));
  const b = await replica();
  await waitFor('A to send notifications', () => sends(a).length === 1);

  const agents = new Map<string, SimAgent>();
  const connect = async (hub: HubProcess, host: string) => {
    const previous = agents.get(host);
    const agent = await connectSimAgent({ agentUrl: hub.agentUrl, host, token: ENROLL, credential: previous?.credential });
    agents.set(host, agent);
    cleanups.push(() => agent.close());
    return agent;
  };
  for (const host of ['web-01', 'web-02']) await connect(a, host);
  for (const host of ['web-03', 'web-04']) await connect(b, host);
  for (const [host, agent] of agents) agent.report(simStatus(host, { applied: REV1 }));
  const summary = async (hub: HubProcess, id: string) => (await api<{ summary: HostSummary }>(hub.url, `/api/v1/hosts/${id}`)).body.summary;
  await waitFor('every host applied REV1 on both replicas', async () => {
    for (const hub of [a, b]) for (const id of agents.keys()) if ((await summary(hub, id))?.lastAppliedRevision !== REV1) return false;
    return true;
  });

  const messages = () => hook.requests.map((r) => JSON.parse(r.body) as NotifyMessage);
  const failedMessages = () => messages().filter((m) => m.event === 'failed');

  // web-01 (on A, the leader) and web-03, web-04 (on B) fail on REV2 within the group window: one message. B's
  // failures reach the leader through PostgreSQL and its problem feed (a 200 ms drain, late on a loaded machine):
  // a 3 s window leaves them room where 1 s was tight.
  for (const host of ['web-01', 'web-03', 'web-04']) agents.get(host)!.report(simStatus(host, { applied: REV1, failedOn: REV2, message: `${host}: start failed` }));
  await waitFor('the failure message', () => failedMessages().length > 0, 20_000);
  // Longer than the group window and the feed's drain: a second sender would have sent by now.
  await sleep(4000);
  assert.equal(failedMessages().length, 1, JSON.stringify(messages().map((m) => m.title)));
  const first = failedMessages()[0]!;
  assert.deepEqual(first.hosts.map((h) => h.id), ['web-01', 'web-03', 'web-04'], 'hosts of both replicas in one message');
  assert.equal(first.title, `3 hosts failed on ${REV2.slice(0, 7)}`);
  const views = await Promise.all([a, b].map(async (h) => (await api<NotificationsView>(h.url, '/api/v1/notifications')).body));
  assert.deepEqual(views.map((v) => v.sending), [true, false], 'only the leader sends');
  assert.deepEqual(views.map((v) => v.sinks[0]!.delivered), [1, 0], 'delivery counters are the sender\'s');
  // The overview's Notifications block says so on the replica that does not send.
  if (requireComponent(t, 'chromium', missingBrowser()) && requireComponent(t, 'web view build', missingWebBuild())) {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      for (const [hub, elsewhere] of [[a, 0], [b, 1]] as const) {
        await signIn(page, hub.url, ADMIN);
        await page.locator('[data-testid=notifications]').waitFor();
        assert.equal(await page.locator('[data-testid=notify-elsewhere]').count(), elsewhere);
      }
      assert.match((await page.locator('[data-testid=notify-elsewhere]').textContent()) ?? '', /Sent by another hub replica/);
    } finally {
      await browser.close();
    }
  }

  // The history: the leader samples at start; the other replica never writes.
  const writes = await db.query<{ at: string; n: string; pids: string }>("SELECT at, count(*) AS n, count(DISTINCT pid) AS pids FROM history_writes WHERE resolution = '1m' AND scope = '' GROUP BY at");
  assert.ok(writes.rows.length >= 1, 'a history point was written');
  for (const w of writes.rows) assert.equal(Number(w.n), 1, `minute slot ${w.at} written ${w.n} times`);

  // Kill the leader: B leads, its agents move to B (a load balancer would do this).
  await a.kill();
  const killed = Date.now();
  await waitFor('B to lead', () => leads(b), 20_000);
  await waitFor('B to send notifications', () => sends(b).length === 1, 20_000);
  t.diagnostic(`B sends notifications ${Date.now() - killed} ms after the leader was killed`);
  agents.get('web-01')!.close();
  agents.get('web-02')!.close();
  await connect(b, 'web-01');
  const web2 = await connect(b, 'web-02');
  // Time for a re-announcement, if B were to make one (group window, feed drain).
  await sleep(5000);
  assert.equal(failedMessages().length, 1, `B did not announce the earlier failure again: ${JSON.stringify(messages().map((m) => m.title))}`);

  // The next event: web-02 fails on REV2 too. B delivers it, as one more of the same group.
  web2.report(simStatus('web-02', { applied: REV1, failedOn: REV2 }));
  await waitFor('B to announce web-02', () => failedMessages().length === 2, 20_000);
  const next = failedMessages()[1]!;
  assert.deepEqual(next.hosts.map((h) => h.id), ['web-02']);
  assert.equal(next.title, `1 more host failed on ${REV2.slice(0, 7)} (4 in all)`);

  // Every host recovers: one recovery message from B naming all four (those announced by A included).
  for (const host of ['web-01', 'web-02', 'web-03', 'web-04']) agents.get(host)!.report(simStatus(host, { applied: REV2 }));
  await waitFor('the recovery message', () => messages().some((m) => m.event === 'recovered'), 20_000);
  await sleep(2000);
  const recovered = messages().filter((m) => m.event === 'recovered');
  assert.equal(recovered.length, 1);
  assert.deepEqual(recovered[0]!.hosts.map((h) => h.id), ['web-01', 'web-02', 'web-03', 'web-04']);
  assert.equal(failedMessages().length, 2);

  // The saved state is cleaned up once the group closed (flushed within half a second).
  await waitFor('the closed group to leave the saved state', async () => (await db.query("SELECT key FROM notify_state WHERE key LIKE 'group:%'")).rows.length === 0);
});

test('a single hub on SQLite restarted while hosts fail: they are not announced again, their recovery is', async () => {
  const hook: Receiver = await startReceiver();
  cleanups.push(() => hook.close());
  const dataDir = tempDir('restart-notify');
  dirs.push(dataDir);
  writeFileSync(join(dataDir, 'hook.secret'), 'restart-hook-secret-0123456789\n');
  writeFileSync(
    join(dataDir, 'hub.yaml'),
    `notify:
  groupWindow: 500ms
  sinks:
    ops: { type: webhook, url: "${hook.url}/hook", secretFile: ${join(dataDir, 'hook.secret')} }
  rules:
    - { name: fleet, events: [failed, recovered], sinks: [ops] }
`,
  );
  const start = async () => {
    const hub = await startHubProcess({ dataDir, args: ['--config', join(dataDir, 'hub.yaml')] });
    cleanups.push(() => hub.stop());
    return hub;
  };
  const messages = () => hook.requests.map((r) => JSON.parse(r.body) as NotifyMessage);
  let hub = await start();
  const first = await Promise.all(['web-01', 'web-02'].map((host) => connectSimAgent({ agentUrl: hub.agentUrl, host, token: ENROLL })));
  for (const agent of first) agent.report(simStatus(agent.host, { applied: REV1, failedOn: REV2 }));
  await waitFor('the failure message', () => messages().length === 1, 20_000);
  assert.equal(messages()[0]!.title, `2 hosts failed on ${REV2.slice(0, 7)}`);
  first.forEach((a) => a.close());
  await hub.stop();

  hub = await start();
  const again = await Promise.all(first.map((a) => connectSimAgent({ agentUrl: hub.agentUrl, host: a.host, token: ENROLL, credential: a.credential })));
  cleanups.push(() => again.forEach((a) => a.close()));
  await waitFor('the restarted hub to send notifications', () => hub.logs.some((l) => l.msg === 'sending notifications'));
  // Both still fail (their stored statuses say so): longer than the group window, nothing new.
  await sleep(2000);
  assert.deepEqual(messages().map((m) => m.title), [`2 hosts failed on ${REV2.slice(0, 7)}`], 'not announced again after the restart');
  for (const agent of again) agent.report(simStatus(agent.host, { applied: REV2 }));
  await waitFor('the recovery message', () => messages().length === 2, 20_000);
  assert.equal(messages()[1]!.event, 'recovered');
  assert.deepEqual(messages()[1]!.hosts.map((h) => h.id), ['web-01', 'web-02']);
});

test('commit statuses on a cluster: posted once by the leader, not posted again by the next leader', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  if (!requireComponent(t, 'git', spawnSync('git', ['--version']).status === 0 ? null : 'the git command is not installed')) return;
  const database = await cluster!.createDatabase();
  const work = tempDir('cluster-forge');
  dirs.push(work);
  const repo = join(work, 'repo');
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' } }).trim();
  mkdirSync(join(repo, 'prod/eu/web-01'), { recursive: true });
  mkdirSync(join(repo, 'prod/eu/web-02'), { recursive: true });
  writeFileSync(join(repo, 'prod/eu/web-01/host.yaml'), '');
  writeFileSync(join(repo, 'prod/eu/web-02/host.yaml'), '');
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  const head = git('rev-parse', 'HEAD');
  // The Gitea commit-status API's documented request and answer.
  const forge = await startReceiver((r) => (r.method === 'POST' && r.path === `/api/v1/repos/ops/fleet/statuses/${head}` && r.headers.authorization === 'token forge-token-0123456789' ? { status: 201, body: { id: 1 } } : { status: 404, body: { message: 'not found' } }));
  cleanups.push(() => forge.close());
  writeFileSync(join(work, 'forge.token'), 'forge-token-0123456789\n');
  writeFileSync(
    join(work, 'hub.yaml'),
    `commitStatus: { forge: gitea, baseUrl: "${forge.url}/api/v1", repository: ops/fleet, tokenFile: ${join(work, 'forge.token')}, webUrl: "https://hub.example.com", debounce: 300ms, minInterval: 100ms }\n`,
  );
  const replica = async () => {
    const dataDir = tempDir('cluster-forge-data');
    dirs.push(dataDir);
    const hub = await startHubProcess({ dataDir, args: ['--config', join(work, 'hub.yaml')], env: { GITFLEET_HUB_DATABASE: database, GITFLEET_HUB_REPO: repo, GITFLEET_HUB_POLL_INTERVAL: '1s' } });
    cleanups.push(() => hub.stop());
    return hub;
  };
  const a = await replica();
  await waitFor('A to lead', () => leads(a));
  const b = await replica();
  const posts = () => forge.requests.map((r) => JSON.parse(r.body) as { state: string; description: string });
  const agents = [await connectSimAgent({ agentUrl: a.agentUrl, host: 'web-01', token: ENROLL, place: 'prod/eu/web-01' }), await connectSimAgent({ agentUrl: b.agentUrl, host: 'web-02', token: ENROLL, place: 'prod/eu/web-02' })];
  cleanups.push(() => agents.forEach((x) => x.close()));
  for (const agent of agents) agent.report(simStatus(agent.host, { applied: head }));
  await waitFor('success for the head', () => posts().some((p) => p.state === 'success'), 20_000);
  await sleep(2000);
  const successes = () => posts().filter((p) => p.state === 'success');
  assert.equal(successes().length, 1, JSON.stringify(posts()));
  assert.equal(successes()[0]!.description, '2 of 2 hosts applied it', 'hosts on both replicas counted');
  await a.kill();
  await waitFor('B to send', () => sends(b).length === 1, 20_000);
  // Longer than the debounce and the leader's first look: a repeat would be here by now.
  await sleep(3000);
  assert.equal(successes().length, 1, `the next leader did not post the same status again: ${JSON.stringify(posts())}`);
});
