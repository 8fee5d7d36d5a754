// The PostgreSQL store's batched writes on a real database (a private
// cluster): snapshots passed one JSON body per line come back byte for byte
// whatever their text holds; they are stored lz4-compressed; a long queue is
// spread over several concurrent batches with every write acked once stored;
// and the attempts a replica remembers storing never make it lose or
// duplicate attempts when another replica wrote the host's in between; a
// prune the database refuses is reported and caught up on, the writes kept.
import { test, after, before } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresFleetStore } from '../../hub/store/postgres-store.ts';
import { CHANGE_CHANNEL, jsonLines } from '../../hub/store/postgres-batch.ts';
import { parseChangeNotice } from '../../hub/cluster/notices.ts';
import type { Attempt, HostStatus } from '../../shared/status.ts';
import { requireComponent } from '../harness/require.ts';
import { postgresMissing, startPostgres } from '../harness/postgres.ts';
import { waitFor } from '../helpers/wait.ts';
import type { PostgresCluster } from '../harness/postgres.ts';

const missing = postgresMissing();
let cluster: PostgresCluster | null = null;
const stores: PostgresFleetStore[] = [];

before(async () => {
  if (missing === null) cluster = await startPostgres();
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await cluster?.stop();
});

async function open(url: string, replicaId: string, options: { poolSize?: number; connectTimeoutMs?: number } = {}): Promise<PostgresFleetStore> {
  const store = await PostgresFleetStore.open(url, { replicaId, ...options });
  stores.push(store);
  return store;
}

function attempt(minute: number): Attempt {
  return {
    trigger: 'poll',
    revision: 'c0ffee'.padEnd(40, '0'),
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
    durationMs: 5,
    result: 'Succeeded',
    intended: [],
    driftCorrected: [],
  };
}

/** A snapshot whose window holds the attempts of these minutes, newest first (as agents send them). */
function status(host: string, message: string, minutes: number[]): HostStatus {
  return {
    host,
    place: 'site/rack',
    tags: [],
    conditions: [{ type: 'Ready', status: true, reason: 'Applied', message, lastTransitionTime: '2026-01-01T00:00:00.000Z' }],
    lastAppliedRevision: null,
    lastAttemptedRevision: null,
    resources: [],
    attempts: minutes.map(attempt),
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

test('jsonLines: one JSON text per line, newlines inside values escaped', () => {
  const values = [{ a: 'x\ny\r\n' }, { b: '\u2028"\\' }, 'multi\nline'];
  const text = jsonLines(values);
  assert.equal(text.split('\n').length, 3);
  assert.deepEqual(text.split('\n').map((l) => JSON.parse(l) as unknown), values);
});

test('snapshots round-trip byte for byte through the batched write, and are stored lz4-compressed', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL', missing)) return;
  const url = await cluster!.createDatabase();
  const store = await open(url, 'replica-a');
  const messages = ['line one\nline two\r\n\ttabbed', 'quotes " and \\ backslashes \\n', 'NUL \u0000 and \u2028 and emoji 🚀', 'x'.repeat(5000)];
  await Promise.all(messages.map((m, i) => store.enroll(`host-${i}`, 'h'.repeat(64), '2026-01-01T00:00:00.000Z')));
  // All in one tick: one batch carries the four snapshots.
  const acks = await Promise.all(messages.map((m, i) => store.saveStatus(`host-${i}`, 1, status(`host-${i}`, m, [3, 2, 1]))));
  assert.deepEqual(acks, [true, true, true, true]);
  for (const [i, m] of messages.entries()) {
    const host = await store.getHost(`host-${i}`);
    assert.equal(host?.status?.conditions[0]?.message, m);
    assert.deepEqual(host?.status, status(`host-${i}`, m, [3, 2, 1]));
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ method: string | null }>("SELECT pg_column_compression(status) AS method FROM hosts WHERE id = 'host-3'");
    assert.equal(r.rows[0]?.method, 'lz4', 'the 5 KB snapshot is compressed with lz4');
  } finally {
    await client.end();
  }
});

test('a long queue goes out as several concurrent batches; every write is acked stored, in seq order per host', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL', missing)) return;
  const url = await cluster!.createDatabase();
  const store = await open(url, 'replica-a');
  const ids = Array.from({ length: 1800 }, (_, i) => `spread-${i}`);
  for (let i = 0; i < ids.length; i += 200) await Promise.all(ids.slice(i, i + 200).map((id) => store.enroll(id, 'h'.repeat(64), '2026-01-01T00:00:00.000Z')));
  const before = store.batchStats.batches;
  // Two snapshots per host queued in the same tick: the second must wait for the first and win.
  const acks = await Promise.all(ids.flatMap((id) => [store.saveStatus(id, 1, status(id, 'first', [1])), store.saveStatus(id, 2, status(id, 'second', [2, 1]))]));
  assert.ok(acks.every(Boolean), 'every snapshot stored');
  const batches = store.batchStats.batches - before;
  assert.ok(batches >= 4, `3,600 writes went out in ${batches} batches: spread over the connections, a host's two writes in two batches`);
  for (const id of [ids[0]!, ids[900]!, ids[1799]!]) {
    const host = await store.getHost(id);
    assert.equal(host?.lastSeq, 2);
    assert.equal(host?.status?.conditions[0]?.message, 'second');
    assert.deepEqual(await store.attempts(id, 10), [attempt(2), attempt(1)]);
  }
});

test('attempts stay exact when the agent moves between replicas and back (no loss, no duplicate)', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL', missing)) return;
  const url = await cluster!.createDatabase();
  const a = await open(url, 'replica-a');
  const b = await open(url, 'replica-b');
  await a.enroll('mover', 'h'.repeat(64), '2026-01-01T00:00:00.000Z');
  assert.equal(await a.saveStatus('mover', 1, status('mover', 'on a', [2, 1])), true);
  // The agent moves to b, which stores two newer attempts.
  await b.claimSession('mover', 'replica-b');
  assert.equal(await b.saveStatus('mover', 2, status('mover', 'on b', [4, 3, 2, 1])), true);
  // And back to a, whose memory of the host's newest attempt (minute 2) is now stale.
  await a.claimSession('mover', 'replica-a');
  assert.equal(await a.saveStatus('mover', 3, status('mover', 'back on a', [5, 4, 3, 2, 1])), true);
  assert.deepEqual(await a.attempts('mover', 10), [attempt(5), attempt(4), attempt(3), attempt(2), attempt(1)]);
  // Even without the claim that makes a forget: b remembers minute 4, a stores 6 meanwhile, b's next window has both.
  assert.equal(await a.saveStatus('mover', 4, status('mover', 'a again', [6, 5, 4, 3, 2])), true);
  assert.equal(await b.saveStatus('mover', 5, status('mover', 'b again', [7, 6, 5, 4, 3])), true);
  assert.deepEqual(await b.attempts('mover', 10), [7, 6, 5, 4, 3, 2, 1].map(attempt));
});

test('a write the database refuses fails alone, and the rest of its batch is not spread over the pool (no connect timeouts)', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL', missing)) return;
  const url = await cluster!.createDatabase();
  // A small pool with a short wait: 600 single writes at once would queue past 300 ms and fail for nothing.
  const store = await open(url, 'replica-a', { poolSize: 2, connectTimeoutMs: 300 });
  const ids = Array.from({ length: 600 }, (_, i) => `refuse-${i}`);
  for (let i = 0; i < ids.length; i += 200) await Promise.all(ids.slice(i, i + 200).map((id) => store.enroll(id, 'h'.repeat(64), '2026-01-01T00:00:00.000Z')));
  const before = store.batchStats.fallbacks;
  // A seq beyond PostgreSQL's bigint: the database refuses the statement that carries it.
  const results = await Promise.allSettled(ids.map((id, i) => store.saveStatus(id, i === 321 ? 1e20 : 1, status(id, 'stored', [1]))));
  const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
  assert.deepEqual(refused, [321], `only the bad write fails: ${results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)).slice(0, 2).join('; ')}`);
  assert.ok(results.every((r, i) => i === 321 || (r.status === 'fulfilled' && r.value === true)));
  assert.equal(store.batchStats.fallbacks - before, 1, 'one batch failed as a whole');
  assert.equal((await store.getHost('refuse-320'))?.status?.conditions[0]?.message, 'stored');
  assert.equal((await store.getHost('refuse-321'))?.lastSeq, 0);
});

test('one batch changing 2,000 hosts with long ids notifies every id, each payload under 8000 bytes', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL', missing)) return;
  const url = await cluster!.createDatabase();
  const store = await open(url, 'replica-a');
  const ids = Array.from({ length: 2000 }, (_, i) => `${String(i).padStart(4, '0')}.${'n'.repeat(200)}`);
  for (let i = 0; i < ids.length; i += 200) await Promise.all(ids.slice(i, i + 200).map((id) => store.enroll(id, 'h'.repeat(64), '2026-01-01T00:00:00.000Z')));
  await new Promise((r) => setTimeout(r, 200));
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  const seen = new Set<string>();
  const sizes: number[] = [];
  listener.on('notification', (n) => {
    sizes.push(Buffer.byteLength(n.payload ?? ''));
    const notice = parseChangeNotice(n.payload ?? '');
    assert.equal(notice?.replica, 'replica-a');
    for (const id of notice?.hosts ?? []) seen.add(id);
  });
  try {
    await listener.query(`LISTEN ${CHANGE_CHANNEL}`);
    const before = store.batchStats.batches;
    const acks = await Promise.all(ids.map((id) => store.saveStatus(id, 1, status(id, 'noticed', []))));
    assert.ok(acks.every(Boolean));
    const deadline = Date.now() + 10_000;
    while (seen.size < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen.size, ids.length, 'every changed host was noticed');
    assert.ok(Math.max(...sizes) < 8000, `largest payload ${Math.max(...sizes)} bytes`);
    assert.ok(sizes.length >= Math.ceil((2000 * 205) / 8000), `${sizes.length} payloads`);
    assert.ok(store.batchStats.batches - before <= 4, 'the 2,000 writes went out in a few batches');
  } finally {
    await listener.end();
  }
});

test('a prune the database refuses is reported with its host, loses no write, and the next prune catches up', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL', missing)) return;
  const url = await cluster!.createDatabase();
  const refused: { host: string; message: string }[] = [];
  const store = await PostgresFleetStore.open(url, {
    replicaId: 'replica-prune',
    retention: { eventsPerHost: 10, attemptsPerHost: 10 },
    onPruneError: (error, host) => refused.push({ host, message: (error as Error).message }),
  });
  stores.push(store);
  await store.enroll('prune-01', 'h'.repeat(64), '2026-01-01T00:00:00.000Z');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const count = async () => Number((await admin.query<{ n: string }>("SELECT count(*) AS n FROM events WHERE host = 'prune-01'")).rows[0]!.n);
  const event = (seq: number) => ({ time: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), level: 'info' as const, reason: 'Test', message: `event ${seq}`, seq });
  try {
    await admin.query(`CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'deletes refused by the test'; END $$`);
    await admin.query('CREATE TRIGGER refuse_delete BEFORE DELETE ON events FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete()');
    for (let seq = 1; seq <= 30; seq++) assert.equal(await store.appendEvent('prune-01', event(seq)), true);
    await waitFor('the refused prune to be reported', () => refused.length > 0);
    assert.equal(refused[0]!.host, 'prune-01');
    assert.match(refused[0]!.message, /deletes refused by the test/);
    assert.equal(await count(), 30, 'every event was stored although its prune failed');
    await admin.query('DROP TRIGGER refuse_delete ON events');
    // The store prunes a host every 25 of its writes: the failed prune came with
    // event 25, so event 50 brings the next one, and nothing is written after it.
    for (let seq = 31; seq <= 50; seq++) await store.appendEvent('prune-01', event(seq));
    await waitFor('the next prune to keep the newest 10 events', async () => (await count()) === 10);
    assert.deepEqual((await store.events('prune-01', 10)).map((e) => e.seq), [50, 49, 48, 47, 46, 45, 44, 43, 42, 41]);
    assert.equal(refused.length, 1, `only the prune under the trigger failed: ${JSON.stringify(refused)}`);
  } finally {
    await admin.end();
  }
});
