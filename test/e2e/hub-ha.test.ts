// The hub as a highly available cluster behind a real load balancer:
// Debian's HAProxy in front of three real `gitfleet hub` processes on one
// real PostgreSQL (a private cluster), real agent reporters (HubClient) in
// their own processes connecting through HAProxy. The API and the web view
// are read through HAProxy with no sticky sessions (round robin: consecutive
// requests hit different replicas) and agree. Killing the replica that holds
// agents moves them to the others: no report is lost, and no host is shown
// Offline for longer than the heartbeat window. The HAProxy settings are
// those of packaging/ha/haproxy.cfg (which `haproxy -c` accepts).
import { test, after, before } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { api, ENROLL, freePort, makeStatus, removeDir, root, startAgent, startHubProcess, tempDir, waitFor } from '../integration/hub-harness.ts';
import type { AgentProcess, HubProcess } from '../integration/hub-harness.ts';
import type { FleetSummary, HostSummary } from '../../hub/fleet/fleet-index.ts';
import { requireComponent } from '../harness/require.ts';
import { postgresMissing, startPostgres } from '../harness/postgres.ts';
import type { PostgresCluster } from '../harness/postgres.ts';

const run = promisify(execFile);
const HAPROXY = '/usr/sbin/haproxy';
const missing = postgresMissing() ?? (existsSync(HAPROXY) ? null : 'no /usr/sbin/haproxy (apt-get install haproxy)');
/** The hub harness's heartbeat is 2 s; a connection silent for 3 heartbeats is dropped. */
const HEARTBEAT_WINDOW_MS = 6000;
const AGENTS = 6;

const dirs: string[] = [];
const agents: AgentProcess[] = [];
const hubs: HubProcess[] = [];
let cluster: PostgresCluster | null = null;
let haproxy: ChildProcess | null = null;

before(async () => {
  if (missing === null) cluster = await startPostgres();
});
after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await Promise.all(hubs.map((h) => h.stop()));
  haproxy?.kill('SIGTERM');
  await cluster?.stop();
  dirs.forEach(removeDir);
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

/** The example's settings with this test's ports (packaging/ha/haproxy.cfg). */
function haproxyConfig(port: number, replicas: number[]): string {
  return [
    'global',
    // Each connection takes two descriptors (client and server side); a process here may hold 20,000.
    '  maxconn 4000',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout tunnel 1h',
    '  option redispatch',
    '  retries 3',
    '  option forwardfor',
    'frontend gitfleet',
    `  bind 127.0.0.1:${port}`,
    '  default_backend hubs',
    'backend hubs',
    '  balance roundrobin',
    '  option httpchk GET /healthz',
    '  http-check expect status 200',
    '  default-server check inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions',
    ...replicas.map((p, i) => `  server hub${i + 1} 127.0.0.1:${p}`),
    '',
  ].join('\n');
}

test('packaging/ha/haproxy.cfg is a valid HAProxy configuration', async (t: TestContext) => {
  if (!requireComponent(t, 'HAProxy', existsSync(HAPROXY) ? null : 'no /usr/sbin/haproxy (apt-get install haproxy)')) return;
  const r = await run(HAPROXY, ['-c', '-f', join(root, 'packaging/ha/haproxy.cfg')]);
  assert.match(r.stdout + r.stderr, /Configuration file is valid/);
});

test('three replicas behind HAProxy: agents and the API through it, no stickiness, a killed replica loses no report and no host stays Offline', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server and HAProxy', missing)) return;
  const database = await cluster!.createDatabase();
  const ports = [await freePort(), await freePort(), await freePort()];
  for (const port of ports) hubs.push(await startHubProcess({ dataDir: dir('hub-ha'), port, env: { GITFLEET_HUB_DATABASE: database, GITFLEET_HUB_TRUSTED_PROXIES: '127.0.0.1' } }));
  const lbPort = await freePort();
  const cfg = join(dir('haproxy'), 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(lbPort, ports));
  haproxy = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let haproxyErr = '';
  haproxy.stderr!.on('data', (d: Buffer) => (haproxyErr += d.toString()));
  const lb = `http://127.0.0.1:${lbPort}`;
  await waitFor(`HAProxy on ${lb} (${haproxyErr})`, async () => (await fetch(`${lb}/healthz`).catch(() => null))?.ok);

  // Agents connect through the load balancer; round robin spreads them over the replicas.
  const ids = Array.from({ length: AGENTS }, (_, i) => `ha-${String(i + 1).padStart(2, '0')}`);
  for (const id of ids) {
    const a = await startAgent({ hubUrl: `ws://127.0.0.1:${lbPort}/agent`, host: id, stateDir: dir(`agent-${id}`), token: ENROLL, place: 'prod/eu', tags: ['prod'] });
    agents.push(a);
    await waitFor(`${id} to connect through HAProxy`, () => a.connected());
    a.send({ status: makeStatus(id, { note: 'first' }) });
  }
  const admin = new pg.Client({ connectionString: database });
  await admin.connect();
  t.after(() => admin.end());
  const holders = async () => (await admin.query<{ r: string | null; n: string }>('SELECT session_replica AS r, count(*) AS n FROM hosts GROUP BY 1')).rows;
  await waitFor('every session recorded', async () => (await holders()).every((r) => r.r !== null) && (await holders()).reduce((n, r) => n + Number(r.n), 0) === AGENTS);
  assert.ok((await holders()).length >= 2, `the agents are spread over several replicas: ${JSON.stringify(await holders())}`);

  // The API through HAProxy, no stickiness: every replica answers in turn and all tell the same fleet.
  await waitFor('every replica to show every host Online and reported', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => api<FleetSummary>(lb, '/api/v1/summary')));
    return answers.every((a) => a.status === 200 && a.body.total === AGENTS && a.body.connectivity.Online === AGENTS && a.body.sync.InSync === AGENTS);
  });
  const page = await fetch(`${lb}/`);
  assert.equal(page.status, 200, 'the web view is served through HAProxy');
  assert.match(await page.text(), /<html/i);

  // Kill the replica holding the most sessions, while the agents keep reporting.
  const before = await holders();
  const victimId = before.sort((x, y) => Number(y.n) - Number(x.n))[0]!.r!;
  const replicaRows = await admin.query<{ id: string; address: string }>('SELECT id, address FROM hub_replicas');
  const victimAddress = replicaRows.rows.find((r) => r.id === victimId)!.address;
  const victim = hubs.find((h) => victimAddress.endsWith(`:${h.port}`))!;
  const moved = Number(before[0]!.n);

  // Watch every host through HAProxy every 100 ms: how long is any shown Offline?
  const offlineSince = new Map<string, number>();
  let worstOfflineMs = 0;
  let observations = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const r = await api<{ hosts: HostSummary[] }>(lb, '/api/v1/hosts?limit=100').catch(() => null);
      const now = Date.now();
      if (r?.status === 200 && r.body.hosts.length === AGENTS) observations++;
      for (const h of r?.status === 200 ? r.body.hosts : []) {
        if (h.connectivity === 'Online') {
          const since = offlineSince.get(h.id);
          if (since !== undefined) worstOfflineMs = Math.max(worstOfflineMs, now - since);
          offlineSince.delete(h.id);
        } else if (!offlineSince.has(h.id)) offlineSince.set(h.id, now);
      }
      for (const since of offlineSince.values()) worstOfflineMs = Math.max(worstOfflineMs, now - since);
      await new Promise((res) => setTimeout(res, 100));
    }
  })();

  for (const a of agents) a.send({ event: { reason: 'BeforeKill', message: `${a.host} before the kill` } });
  await new Promise((res) => setTimeout(res, 200));
  const killedAt = Date.now();
  await victim.kill();
  // Reports sent while the agents' connections are dying or gone: each agent queues and resends until acked.
  for (const a of agents) {
    a.send({ event: { reason: 'DuringMove', message: `${a.host} during the move` } });
    a.send({ status: makeStatus(a.host, { note: 'after the kill', sync: 'Drifted' }) });
  }
  const back = await waitFor(
    'every session held by a surviving replica',
    async () => {
      const rows = await holders();
      return rows.every((r) => r.r !== null && r.r !== victimId) && rows.reduce((n, r) => n + Number(r.n), 0) === AGENTS;
    },
    30_000,
  );
  assert.ok(back);
  const movedMs = Date.now() - killedAt;
  // Every report arrived, once: read through HAProxy (whichever replica answers).
  for (const id of ids) {
    const detail = await waitFor(`${id}'s reports after the move`, async () => {
      const r = await api<{ status: { conditions: Array<{ message: string }> } | null; events: Array<{ reason: string }>; summary: HostSummary }>(lb, `/api/v1/hosts/${id}`);
      return r.status === 200 && r.body.status?.conditions[0]?.message === 'after the kill' && r.body.summary.sync === 'Drifted' ? r.body : null;
    });
    for (const reason of ['BeforeKill', 'DuringMove']) {
      assert.equal(detail.events.filter((e) => e.reason === reason).length, 1, `${id}: exactly one ${reason} event`);
    }
  }
  await waitFor('all Online through HAProxy', async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => api<FleetSummary>(lb, '/api/v1/summary')));
    return answers.every((a) => a.status === 200 && a.body.connectivity.Online === AGENTS);
  });
  // A quick move can end before the watcher has looked ten times: it keeps looking until it has (or 10 s pass).
  await waitFor('the watcher to see the whole fleet ten times', () => observations >= 10, 10_000);
  watching = false;
  await watcher;
  assert.ok(observations >= 10, `the watcher saw the whole fleet ${observations} times`);
  t.diagnostic(`${moved} agent(s) moved off the killed replica in ${movedMs} ms; longest any host was shown Offline: ${worstOfflineMs} ms`);
  assert.ok(worstOfflineMs <= HEARTBEAT_WINDOW_MS, `a host was shown Offline for ${worstOfflineMs} ms (heartbeat window ${HEARTBEAT_WINDOW_MS} ms)`);
});
