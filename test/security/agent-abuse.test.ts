// One hostile agent against a real hub process over real sockets: tags at
// every bound, oversize reports, and a flood of statuses, events and
// attempts. The hub must keep answering (/healthz p99 measured while the
// abuse runs), refuse what is over a bound with a named reason, and store a
// bounded number of bytes for the host, the newest status among them.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import WebSocket from 'ws';
import { VIEWER, api, removeDir, startHubProcess, tempDir, waitFor } from '../integration/hub-harness.ts';
import type { HubProcess } from '../integration/hub-harness.ts';
import { MAX_FRAME_BYTES, TAG_LIMITS } from '../../shared/protocol.ts';
import { STATUS_LIMITS } from '../../shared/status.ts';
import type { Attempt, HostStatus } from '../../shared/status.ts';
import { HOST_LIMITS } from '../../hub/gateway/host-limits.ts';
import { MiB, fmt, latency, metric, rawAgent, storedBytes } from './agent-abuse-kit.ts';

let hub: HubProcess;
const dataDir = tempDir('abuse');

before(async () => {
  hub = await startHubProcess({ dataDir });
});
after(async () => {
  await hub.stop();
  removeDir(dataDir);
});

function status(host: string, note: string, o: { attempts?: Attempt[]; resources?: HostStatus['resources'] } = {}): HostStatus {
  const now = new Date().toISOString();
  return {
    host,
    place: '',
    tags: [],
    conditions: [{ type: 'Ready', status: true, reason: 'Converged', message: note, lastTransitionTime: now }],
    lastAppliedRevision: 'a'.repeat(40),
    lastAttemptedRevision: 'a'.repeat(40),
    resources: o.resources ?? [{ id: 'container/web', sync: 'InSync', health: 'Healthy', diff: [] }],
    attempts: o.attempts ?? [],
    updatedAt: now,
  };
}

/** Tags at every bound, different on each call (so no cache can help the hub). */
function boundTags(round: number): string[] {
  const segment = (i: number, d: number) => `${round.toString(36)}-${i}-${d}-`.padEnd(Math.floor(TAG_LIMITS.length / TAG_LIMITS.depth) - 1, 'x');
  return Array.from({ length: TAG_LIMITS.count }, (_, i) => Array.from({ length: TAG_LIMITS.depth }, (_, d) => segment(i, d)).join('/'));
}

test('tags over a bound are refused with the bound named; the socket alone is closed', async () => {
  const deep = Array.from({ length: TAG_LIMITS.depth + 1 }, (_, i) => `t${i}`).join('/');
  const cases: Array<[string[], RegExp]> = [
    [[deep], /tags\.0: a tag has at most 16 path segments/],
    [['x'.repeat(TAG_LIMITS.length + 1)], /tags\.0: .*256/],
    [Array.from({ length: TAG_LIMITS.count + 1 }, (_, i) => `t${i}`), /tags: .*64/],
  ];
  for (const [tags, reason] of cases) {
    const a = await rawAgent(hub.agentUrl, 'tags-over', { enrollmentToken: 'enroll-token-0123456789abcdef', tags });
    const closed = await a.closed;
    assert.equal(closed.code, 4004);
    assert.equal(a.messages[0]!.code, 'PROTOCOL_INVALID');
    assert.match(String(a.messages[0]!.message), reason);
  }
  assert.equal((await api(hub.url, '/healthz', { token: null })).status, 200);
});

test('an agent helloing with tags at every bound, again and again: /healthz, /summary and /metrics stay fast', async () => {
  const first = await rawAgent(hub.agentUrl, 'hostile-tags', { enrollmentToken: 'enroll-token-0123456789abcdef', tags: boundTags(0) });
  const credential = String(first.messages.find((m) => m.type === 'welcome')!.hostCredential);
  first.ws.close();
  let stop = false;
  let hellos = 0;
  const abuse = (async () => {
    for (let round = 1; !stop; round++) {
      const a = await rawAgent(hub.agentUrl, 'hostile-tags', { credential, tags: boundTags(round), place: boundTags(round)[0] });
      assert.equal(a.messages[0]!.type, 'welcome', JSON.stringify(a.messages[0]));
      hellos++;
      a.ws.close();
    }
  })();
  try {
    await waitFor('the hostile agent to be at work', () => hellos >= 5);
    const health = await latency(hub.url, '/healthz', 200);
    const summary = await latency(hub.url, '/api/v1/summary', 100, VIEWER);
    const metrics = await latency(hub.url, '/metrics', 100, VIEWER);
    const tags = await latency(hub.url, '/api/v1/tags', 50, VIEWER);
    console.log(`deep tags (${hellos} hellos of ${TAG_LIMITS.count} tags × ${TAG_LIMITS.depth} segments × ${TAG_LIMITS.length - 1} chars meanwhile): /healthz ${fmt(health)}; /api/v1/summary ${fmt(summary)}; /metrics ${fmt(metrics)}; /api/v1/tags ${fmt(tags)}`);
    assert.ok(health.p99 < 100, `/healthz p99 ${health.p99} ms`);
    assert.ok(summary.p99 < 500, `/api/v1/summary p99 ${summary.p99} ms`);
    assert.ok(metrics.p99 < 500, `/metrics p99 ${metrics.p99} ms`);
  } finally {
    stop = true;
    await abuse;
  }
  // The tree holds the last hello's tags, each node counting the host once.
  const tree = await api<{ tags: Array<{ tag: string; total: number }> }>(hub.url, '/api/v1/tags', { token: VIEWER });
  assert.ok(tree.body.tags.length > 0 && tree.body.tags.every((n) => n.total <= 1));
});

test('oversize reports are refused with the bound named; the hub keeps serving', async () => {
  const a = await rawAgent(hub.agentUrl, 'oversize-01');
  assert.equal(a.messages[0]!.type, 'welcome');
  a.ws.send('x'.repeat(MAX_FRAME_BYTES + 1));
  assert.equal((await a.closed).code, 1009, 'a frame over 1 MiB');

  const credential = String(a.messages[0]!.hostCredential);
  const resource = { id: 'file/x', sync: 'InSync', health: 'Healthy', diff: [] };
  const cases: Array<[unknown, RegExp]> = [
    [{ type: 'status', seq: 1, status: status('oversize-01', 'x', { resources: Array.from({ length: STATUS_LIMITS.resources + 1 }, () => resource) as HostStatus['resources'] }) }, /status\.resources: .*5000/],
    [{ type: 'status', seq: 1, status: status('oversize-01', 'x', { resources: [{ ...resource, diff: [{ field: 'content', desired: 'x'.repeat(2000), live: null }] }] as HostStatus['resources'] }) }, /diff value is at most 1024 characters/],
    [{ type: 'event', seq: 1, time: 'now', level: 'info', reason: 'Flood', message: 'x'.repeat(5000) }, /message: .*4096/],
  ];
  for (const [frame, reason] of cases) {
    const b = await rawAgent(hub.agentUrl, 'oversize-01', { credential });
    assert.equal(b.messages[0]!.type, 'welcome');
    b.ws.send(JSON.stringify(frame));
    assert.equal((await b.closed).code, 4004);
    const error = b.messages.find((m) => m.type === 'error')!;
    assert.equal(error.code, 'PROTOCOL_INVALID');
    assert.match(String(error.message), reason);
  }
  assert.equal((await api(hub.url, '/healthz', { token: null })).status, 200);
});

test('1000 statuses a second from one host (with events and fat attempts): writes coalesced, bytes bounded, the newest kept', async () => {
  const host = 'flood-01';
  const a = await rawAgent(hub.agentUrl, host);
  assert.equal(a.messages[0]!.type, 'welcome');
  let seq = 0;
  const sent = { statuses: 0, events: 0, attempts: 0 };
  const fatAttempt = (i: number): Attempt => ({
    trigger: 'poll',
    revision: 'a'.repeat(40),
    startedAt: new Date(Date.UTC(2030, 0, 1, 0, 0, 0, 0) + i).toISOString(),
    durationMs: 1,
    result: 'Failed',
    intended: Array.from({ length: 200 }, (_, j) => `container/${j}-`.padEnd(200, 'y')),
    driftCorrected: [],
    message: 'z'.repeat(4000),
  });
  const statusesBefore = await metric(hub.url, VIEWER, 'gitfleet_hub_agent_messages_total', { type: 'status' });
  const durationMs = 5000;
  const started = Date.now();
  const flood = (async () => {
    while (Date.now() - started < durationMs) {
      // 10 statuses and 2 events every 10 ms (1000 statuses/s); every 50th status carries 2 new fat attempts (~80 KB).
      if (a.ws.bufferedAmount < 16 * MiB) {
        for (let i = 0; i < 10; i++) {
          const n = sent.statuses++;
          const attempts = n % 50 === 0 ? [fatAttempt(sent.attempts++), fatAttempt(sent.attempts++)] : [];
          a.ws.send(JSON.stringify({ type: 'status', seq: ++seq, status: status(host, `flood-${n}`, { attempts }) }));
        }
        for (let i = 0; i < 2; i++) {
          sent.events++;
          a.ws.send(JSON.stringify({ type: 'event', seq: ++seq, time: new Date().toISOString(), level: 'info', reason: 'Flood', message: 'e'.repeat(4000), resource: 'r'.repeat(1000) }));
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const health = await latency(hub.url, '/healthz', 200);
  await flood;
  console.log(`flood: sent ${sent.statuses} statuses, ${sent.events} events, ${sent.attempts} fat attempts in ${durationMs} ms; /healthz meanwhile ${fmt(health)}`);
  assert.ok(health.p99 < 100, `/healthz p99 ${health.p99} ms`);

  // Then one last status: it must be the one stored (the flood ahead of it is read at the host's byte rate).
  await waitFor('the client to hand its buffer to the kernel', () => a.ws.bufferedAmount === 0, 60_000);
  const final = status(host, 'final');
  a.ws.send(JSON.stringify({ type: 'status', seq: ++seq, status: final }));
  const drainStarted = Date.now();
  await waitFor(
    'the final status to be stored',
    async () => (await api<{ status: HostStatus | null }>(hub.url, `/api/v1/hosts/${host}`, { token: VIEWER })).body.status?.conditions[0]?.message === 'final',
    90_000,
  );
  const acked = await waitFor('the final ack', () => a.messages.some((m) => m.type === 'ack' && m.seq === seq), 10_000);
  assert.ok(acked);
  const received = (await metric(hub.url, VIEWER, 'gitfleet_hub_agent_messages_total', { type: 'status' })) - statusesBefore;
  const coalesced = await metric(hub.url, VIEWER, 'gitfleet_hub_agent_statuses_coalesced_total');
  const droppedEvents = await metric(hub.url, VIEWER, 'gitfleet_hub_agent_reports_dropped_total', { kind: 'event' });
  const droppedAttempts = await metric(hub.url, VIEWER, 'gitfleet_hub_agent_reports_dropped_total', { kind: 'attempt' });
  const throttled = await metric(hub.url, VIEWER, 'gitfleet_hub_agent_throttled_total');
  const elapsedS = (Date.now() - started) / 1000;
  const writes = received - coalesced;
  console.log(
    `flood: hub read ${received} statuses over ${elapsedS.toFixed(1)} s (drained ${((Date.now() - drainStarted) / 1000).toFixed(1)} s after the flood), ` +
      `wrote ${writes} (${(writes / elapsedS).toFixed(1)}/s), coalesced ${coalesced}; dropped ${droppedEvents} events, ${droppedAttempts} attempts; paused reading ${throttled} times`,
  );
  assert.equal(a.ws.readyState, WebSocket.OPEN, 'a flooding agent is slowed, not cut off');
  assert.ok(coalesced > 0);
  assert.ok(droppedEvents > 0);
  // One write per interval (events arriving meanwhile wait with the status), plus the final status.
  assert.ok(writes <= Math.ceil((elapsedS * 1000) / HOST_LIMITS.statusWriteIntervalMs) + 2, `${writes} writes in ${elapsedS} s`);

  const bytes = storedBytes(join(dataDir, 'hub.sqlite'), host);
  console.log(
    `flood: stored for ${host}: ${(bytes.total / MiB).toFixed(2)} MiB (status ${bytes.status} B, facts ${bytes.facts} B, ` +
      `${bytes.eventRows} events ${(bytes.events / MiB).toFixed(2)} MiB, ${bytes.attemptRows} attempts ${(bytes.attempts / MiB).toFixed(2)} MiB)`,
  );
  assert.ok(bytes.attemptRows <= 125 && bytes.eventRows <= 525, JSON.stringify(bytes));
  assert.ok(bytes.attempts <= 125 * HOST_LIMITS.storedAttemptBytes, JSON.stringify(bytes));
  assert.ok(bytes.total < 8 * MiB, JSON.stringify(bytes));

  const record = await api<{ attempts: Attempt[]; events: Array<{ reason: string; message: string }> }>(hub.url, `/api/v1/hosts/${host}`, { token: VIEWER });
  const size = Buffer.byteLength(JSON.stringify(record.body));
  console.log(`flood: GET /api/v1/hosts/${host} is ${(size / 1024).toFixed(0)} KiB`);
  assert.ok(size < 4 * MiB);
  assert.ok(record.body.attempts.every((x) => Buffer.byteLength(JSON.stringify(x)) <= HOST_LIMITS.storedAttemptBytes));
  assert.ok(record.body.attempts.some((x) => x.intended.at(-1)!.includes('cut by the hub')), 'cut attempts say so');
  // The notice lands when the drops begin, so later events may push it out of the record's newest 100: read the whole history.
  const history = await api<{ events: Array<{ reason: string }> }>(hub.url, `/api/v1/hosts/${host}/events?limit=1000`, { token: VIEWER });
  assert.ok(history.body.events.some((e) => e.reason === 'ReportsRateLimited'), 'the drops are in the host history');
  a.ws.close();
});
