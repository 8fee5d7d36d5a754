// The hub (its own process, the real `gitfleet hub`) with real agent
// reporters (their own processes, HubClient) over real sockets.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ADMIN, ENROLL, VIEWER, root, api, makeStatus, removeDir, startAgent, startHubProcess, tempDir, waitFor } from './hub-harness.ts';
import type { AgentProcess, HubProcess } from './hub-harness.ts';
import type { FleetSummary, HostSummary } from '../../hub/fleet/fleet-index.ts';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { emptyFacts } from '../../agent/facts.ts';

const dirs: string[] = [];
const agents: AgentProcess[] = [];
let hub: HubProcess | null = null;
const dataDir = tempDir('hub-data');
dirs.push(dataDir);

after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await hub?.stop();
  dirs.forEach(removeDir);
});

function agentDir(): string {
  const d = tempDir('agent');
  dirs.push(d);
  return d;
}

async function agent(host: string, extra: { stateDir?: string; token?: string | null; place?: string; tags?: string[] } = {}) {
  const a = await startAgent({ hubUrl: hub!.agentUrl, host, stateDir: extra.stateDir ?? agentDir(), token: extra.token === null ? undefined : (extra.token ?? ENROLL), place: extra.place ?? 'prod/eu', tags: extra.tags ?? ['prod', 'prod/eu'] });
  agents.push(a);
  return a;
}

type HostDetail = { summary: HostSummary; status: { conditions: Array<{ message: string }> } | null; events: Array<{ reason: string; message: string; seq?: number }>; facts: { kernel: string | null } | null };

/** Raw socket, to send what no real agent would. */
function rawSocket(): Promise<{ ws: WebSocket; messages: unknown[]; closed: Promise<{ code: number; reason: string }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(hub!.agentUrl);
    const messages: unknown[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString())));
    ws.on('error', () => undefined);
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
  });
}

function hello(host: string, extra: Record<string, unknown> = {}) {
  return JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, host, agentVersion: 'raw', place: '', tags: [], facts: emptyFacts(), droppedEvents: 0, ...extra });
}

test('an agent enrolls, keeps its credential at 0600, and its reports and facts reach the API', async () => {
  hub = await startHubProcess({ dataDir });
  const a = await agent('web-01');
  await waitFor('web-01 to connect', () => a.connected());
  const credFile = join(a.stateDir, 'hub-credential');
  assert.equal(statSync(credFile).mode & 0o777, 0o600);
  assert.ok(readFileSync(credFile, 'utf8').trim().length >= 40);
  a.send({ status: makeStatus('web-01', { sync: 'Drifted', note: 'first' }) });
  a.send({ event: { reason: 'Applied', message: 'applied rev a' } });
  const detail = await waitFor('the status and event to be stored', async () => {
    const r = await api<HostDetail>(hub!.url, '/api/v1/hosts/web-01');
    return r.body.status && r.body.events.some((e) => e.reason === 'Applied') ? r.body : null;
  });
  assert.equal(detail.summary.sync, 'Drifted');
  assert.equal(detail.summary.connectivity, 'Online');
  assert.equal(detail.summary.enrolled, true);
  assert.equal(typeof detail.facts?.kernel, 'string');
  const summary = (await api<FleetSummary>(hub.url, '/api/v1/summary', { token: VIEWER })).body;
  assert.equal(summary.total, 1);
  assert.equal(summary.sync.Drifted, 1);
  assert.deepEqual(summary.tags.map((t) => [t.tag, t.worst]), [['prod', 'Drifted'], ['prod/eu', 'Drifted']]);
  // The credential is stored only as a hash: it appears nowhere in the API or the logs.
  const credential = readFileSync(credFile, 'utf8').trim();
  assert.ok(!JSON.stringify(detail).includes(credential));
  assert.ok(!JSON.stringify(hub.logs).includes(credential));
  assert.ok(!JSON.stringify(hub.logs).includes(ENROLL));
});

test('viewer tokens read but cannot mutate; no token is refused', async () => {
  assert.equal((await api(hub!.url, '/api/v1/summary', { token: null })).status, 401);
  assert.equal((await api(hub!.url, '/api/v1/summary', { token: 'not-a-token-at-all-xxxx' })).status, 401);
  assert.equal((await api(hub!.url, '/api/v1/hosts?state=Drifted', { token: VIEWER })).status, 200);
  const denied = await api<{ error: { code: string } }>(hub!.url, '/api/v1/reconcile', { token: VIEWER, method: 'POST', body: { all: true } });
  assert.equal(denied.status, 403);
  assert.equal((await api(hub!.url, '/api/v1/hosts/web-01/credential', { token: VIEWER, method: 'DELETE' })).status, 403);
  const metrics = await api<string>(hub!.url, '/metrics', { token: VIEWER });
  assert.match(metrics.body, /gitfleet_hub_agents_connected 1/);
  const ok = await api<{ reached: string[] }>(hub!.url, '/api/v1/reconcile', { token: ADMIN, method: 'POST', body: { host: 'web-01', reason: 'test' } });
  assert.deepEqual(ok.body.reached, ['web-01']);
  await waitFor('reconcile-now at web-01', () => agents[0]!.reconciles().includes('test'));
  assert.equal((await api(hub!.url, '/api/v1/hosts?state=Bogus')).status, 400);
});

test('gitfleet status prints the summary (and JSON), exit 1 while a host drifts', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'status', '--hub', hub!.url, ...args], { cwd: root, encoding: 'utf8' });
  const human = cli(['--token', VIEWER]);
  assert.equal(human.status, 1, human.stderr);
  assert.match(human.stdout, /hosts: 1/);
  assert.match(human.stdout, /sync: Drifted 1/);
  assert.match(human.stdout, /prod\s+1\s+Drifted/);
  const json = cli(['--token', VIEWER, '--json']);
  assert.equal((JSON.parse(json.stdout) as FleetSummary).sync.Drifted, 1);
  const denied = cli(['--token', 'wrong-token-xxxxxxxxxxxx']);
  assert.equal(denied.status, 3, 'a refused token means the CLI could not tell (docs/cli.md, exit codes)');
  assert.match(denied.stderr, /401/);
  assert.equal(cli([]).status, 2);
});

test('another credential for an enrolled host id is refused and logged; the owner stays connected', async () => {
  const thief = await agent('web-01');
  await waitFor('the refusal to be logged', () => hub!.logs.find((l) => l.code === 'HOST_CLAIMED' && l.host === null));
  // The thief's own log of the refusal comes through its stderr pipe, after the hub's.
  await waitFor('the thief to log HOST_CLAIMED', () => /HOST_CLAIMED/.test(thief.stderr()));
  assert.equal(thief.connected(), false);
  assert.equal(agents[0]!.connected(), true);
  await thief.stop();
  // A wrong enrollment token is refused too.
  const stranger = await agent('web-99', { token: 'wrong-enrollment-token-xyz' });
  await waitFor('AUTH_FAILED to be logged', () => hub!.logs.find((l) => l.code === 'AUTH_FAILED'));
  assert.equal(stranger.connected(), false);
  await stranger.stop();
});

test('malformed, oversize, unauthenticated and wrong-version frames close that socket only', async () => {
  const garbage = await rawSocket();
  garbage.ws.send('{not json');
  assert.equal((await garbage.closed).code, 4004);
  assert.deepEqual((garbage.messages[0] as { code: string }).code, 'PROTOCOL_INVALID');

  const big = await rawSocket();
  big.ws.send('x'.repeat(2 * 1024 * 1024));
  assert.equal((await big.closed).code, 1009);

  const early = await rawSocket();
  early.ws.send(JSON.stringify({ type: 'heartbeat' }));
  assert.equal((await early.closed).code, 4001);

  const future = await rawSocket();
  future.ws.send(hello('web-77', { protocol: PROTOCOL_VERSION + 1, enrollmentToken: ENROLL, somethingNew: true }));
  const closed = await future.closed;
  assert.equal(closed.code, 4003);
  assert.deepEqual(future.messages[0], {
    type: 'error',
    code: 'PROTOCOL_VERSION',
    reason: 'hub-too-old',
    hubProtocol: PROTOCOL_VERSION,
    hubMinProtocol: MIN_PROTOCOL_VERSION,
    message: (future.messages[0] as { message: string }).message,
  });

  const offSchema = await rawSocket();
  offSchema.ws.send(hello('web-78', { enrollmentToken: ENROLL }));
  await waitFor('welcome', () => offSchema.messages.length > 0);
  offSchema.ws.send(JSON.stringify({ type: 'status', seq: 1, status: { host: 'web-78' } }));
  assert.equal((await offSchema.closed).code, 4004);

  // Meanwhile the real agent kept working.
  agents[0]!.send({ status: makeStatus('web-01', { sync: 'InSync', note: 'after-attacks' }) });
  await waitFor('the real agent to be heard', async () => {
    const r = await api<HostDetail>(hub!.url, '/api/v1/hosts/web-01');
    return r.body.status?.conditions[0]?.message === 'after-attacks';
  });
  assert.equal(agents[0]!.connected(), true);
  await waitFor('the hub to log the refused protocol version', () => hub!.logs.some((l) => l.code === 'PROTOCOL_VERSION' && l.reason === 'hub-too-old'));
});

test('hub down: reports queue on disk and arrive in order after a restart that lost nothing', async () => {
  const a = agents[0]!;
  const port = hub!.port;
  assert.equal(await hub!.stop(), 0);
  await waitFor('web-01 to notice', () => !a.connected());
  for (let i = 1; i <= 5; i++) a.send({ event: { reason: 'Step', message: `offline-${i}` } });
  a.send({ status: makeStatus('web-01', { sync: 'Missing', note: 'while-offline' }) });
  // The agent's process takes the commands through a pipe and writes its queue when it gets to them.
  const queuedEvents = () => {
    try {
      const queue = JSON.parse(readFileSync(join(a.stateDir, 'hub-queue.json'), 'utf8')) as { items: Array<{ type: string; seq: number }> };
      return queue.items.filter((i) => i.type === 'event').length;
    } catch {
      return 0; // not written yet
    }
  };
  await waitFor('the five events queued on disk', () => queuedEvents() >= 5);
  assert.equal(queuedEvents(), 5);

  // The agent is held still while the hub starts and is looked at: its next retry could otherwise reconnect it
  // (and deliver its queue) between the hub's "listening" and the look, and the look would not see the stored state.
  a.proc.kill('SIGSTOP');
  try {
    hub = await startHubProcess({ dataDir, port });
    // Stored state survived: the host is still enrolled and known before it reconnects.
    const before = await api<HostDetail>(hub.url, '/api/v1/hosts/web-01');
    assert.equal(before.body.summary.enrolled, true);
    assert.equal(before.body.summary.connectivity, 'Offline');
    assert.equal(before.body.status?.conditions[0]?.message, 'after-attacks');
  } finally {
    a.proc.kill('SIGCONT');
  }

  await waitFor('web-01 to reconnect', () => a.connected(), 20_000);
  const detail = await waitFor('the queued reports', async () => {
    const r = await api<HostDetail>(hub!.url, '/api/v1/hosts/web-01');
    return r.body.status?.conditions[0]?.message === 'while-offline' ? r.body : null;
  });
  const offline = detail.events.filter((e) => e.message.startsWith('offline-')).reverse();
  assert.deepEqual(offline.map((e) => e.message), ['offline-1', 'offline-2', 'offline-3', 'offline-4', 'offline-5']);
  const seqs = offline.map((e) => e.seq!);
  assert.deepEqual([...seqs].sort((x, y) => x - y), seqs);
  assert.equal(detail.summary.sync, 'Missing');
  await waitFor('the queue to drain after the ack', () => {
    const q = JSON.parse(readFileSync(join(a.stateDir, 'hub-queue.json'), 'utf8')) as { items: unknown[] };
    return q.items.length === 0;
  });
  // The credential was not re-issued: the enrolled id is still protected after restart.
  const thief = await agent('web-01');
  await waitFor('the claim to be refused after restart', () => hub!.logs.find((l) => l.code === 'HOST_CLAIMED'));
  assert.equal(thief.connected(), false);
  await thief.stop();
});
