// Two real `gitfleet hub` processes on one real PostgreSQL database (a
// private cluster): a real agent reporter (HubClient) enrolls through the
// first, the second serves the same host, and the agent, moved to the second
// with the credential the first issued, is accepted and keeps reporting.
import { test, after, before } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ENROLL, ADMIN, root, api, makeStatus, removeDir, startAgent, startHubProcess, tempDir, waitFor } from './hub-harness.ts';
import type { AgentProcess, HubProcess } from './hub-harness.ts';
import type { HostSummary } from '../../hub/fleet/fleet-index.ts';
import { requireComponent } from '../harness/require.ts';
import { postgresMissing, startPostgres } from '../harness/postgres.ts';
import type { PostgresCluster } from '../harness/postgres.ts';

type HostDetail = {
  summary: HostSummary;
  status: { conditions: Array<{ message: string }> } | null;
  events: Array<{ reason: string; message: string }>;
  enrolledAt: string | null;
};

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

async function hubOn(database: string): Promise<HubProcess> {
  const hub = await startHubProcess({ dataDir: dir('hub-pg-data'), env: { GITFLEET_HUB_DATABASE: database } });
  hubs.push(hub);
  return hub;
}

/** Runs `gitfleet hub` expecting it to refuse to start; returns its exit code and stderr. */
function hubRefusal(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'hub'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GITFLEET_HUB_LISTEN: '127.0.0.1:0',
        GITFLEET_HUB_DATA_DIR: dir('hub-pg-refused'),
        GITFLEET_HUB_ENROLLMENT_TOKEN: ENROLL,
        GITFLEET_HUB_ADMIN_TOKEN: ADMIN,
        ...env,
      },
    });
    let stderr = '';
    let stdout = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

const detail = (hub: HubProcess) => api<HostDetail>(hub.url, '/api/v1/hosts/web-01');

test('two hub replicas on one PostgreSQL database serve the same enrolled host', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const database = await cluster!.createDatabase();
  const a = await hubOn(database);
  const listening = a.logs.find((l) => l.msg === 'hub listening');
  assert.equal(listening?.database, database.replace(cluster!.password, '***'), 'the URL is logged with its password redacted');

  const stateDir = dir('agent-pg');
  const first = await startAgent({ hubUrl: a.agentUrl, host: 'web-01', stateDir, token: ENROLL, place: 'prod/eu', tags: ['prod'] });
  agents.push(first);
  await waitFor('web-01 to enroll through hub A', () => first.connected());
  first.send({ status: makeStatus('web-01', { note: 'via A' }) });
  first.send({ event: { reason: 'Applied', message: 'applied through A' } });
  const onA = await waitFor('hub A to store the report', async () => {
    const r = await detail(a);
    return r.body.status?.conditions[0]?.message === 'via A' && r.body.events.some((e) => e.reason === 'Applied') ? r.body : null;
  });
  assert.equal(onA.summary.enrolled, true);
  assert.equal(onA.summary.connectivity, 'Online');

  // A second replica started on the same database knows the host, its status and history.
  const b = await hubOn(database);
  const onB = (await detail(b)).body;
  assert.equal(onB.summary.enrolled, true);
  assert.equal(onB.enrolledAt, onA.enrolledAt);
  assert.equal(onB.status?.conditions[0]?.message, 'via A');
  assert.ok(onB.events.some((e) => e.reason === 'Enrolled'));
  assert.ok(onB.events.some((e) => e.message === 'applied through A'));

  // The agent moves to B (a load balancer's choice) with the credential A issued, and no enrollment token.
  await first.stop();
  const moved = await startAgent({ hubUrl: b.agentUrl, host: 'web-01', stateDir, place: 'prod/eu', tags: ['prod'] });
  agents.push(moved);
  await waitFor('web-01 to authenticate on hub B', () => moved.connected());
  moved.send({ status: makeStatus('web-01', { note: 'via B', sync: 'Drifted' }) });
  const afterMove = await waitFor('hub B to store the new report', async () => {
    const r = await detail(b);
    // The record is read from the database, the summary from B's index, which follows the write a moment later.
    return r.body.status?.conditions[0]?.message === 'via B' && r.body.summary.sync === 'Drifted' ? r.body : null;
  });
  assert.equal(afterMove.summary.connectivity, 'Online');
  assert.ok(!moved.stderr().includes('HOST_CLAIMED'), moved.stderr());
  // A reads the host's record from the shared database, so it shows B's write too.
  assert.equal((await detail(a)).body.status?.conditions[0]?.message, 'via B');

  for (const hub of [a, b]) {
    const text = JSON.stringify(hub.logs);
    assert.ok(!text.includes(cluster!.password), 'no log line holds the database password');
  }
});

test('a hub whose database is unreachable or not PostgreSQL refuses to start with one line', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const password = 'do-not-print-this-password';
  const down = await hubRefusal({ GITFLEET_HUB_DATABASE: `postgres://gitfleet:${password}@127.0.0.1:1/fleet` });
  assert.equal(down.code, 2);
  assert.match(down.stderr, /^gitfleet: hub config: database: cannot connect to PostgreSQL at 127\.0\.0\.1:1\/fleet: .*ECONNREFUSED.*\n$/);
  assert.ok(!(down.stderr + down.stdout).includes(password));

  const wrongKind = await hubRefusal({ GITFLEET_HUB_DATABASE: `mysql://gitfleet:${password}@127.0.0.1/fleet` });
  assert.equal(wrongKind.code, 2);
  assert.match(wrongKind.stderr, /^gitfleet: hub config: database: a postgres:\/\/ or postgresql:\/\/ URL, not mysql:\/\/….*\n$/);
  assert.ok(!(wrongKind.stderr + wrongKind.stdout).includes(password));
});
