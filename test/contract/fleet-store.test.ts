// One contract for every FleetStore: the embedded SQLite store (a temp file)
// and the PostgreSQL store (a private, real PostgreSQL cluster). The same
// assertions run against both, so the two cannot drift apart; the replica
// cases (two instances on one database, a race to migrate, a race to enroll)
// run where the store is meant to be shared.
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SqliteFleetStore } from '../../hub/store/sqlite-store.ts';
import { PostgresFleetStore } from '../../hub/store/postgres-store.ts';
import type { FleetStore, RetentionPolicy } from '../../hub/store/fleet-store.ts';
import type { RolloutRecord } from '../../hub/rollout/rollout-record.ts';
import { postgresMigrations } from '../../hub/store/postgres-migrations.ts';
import { isGitfleetError } from '../../shared/errors.ts';
import type { Attempt, HostStatus } from '../../shared/status.ts';
import type { HostFacts } from '../../shared/protocol.ts';
import { requireComponent } from '../harness/require.ts';
import { postgresMissing, startPostgres } from '../harness/postgres.ts';
import type { PostgresCluster } from '../harness/postgres.ts';

const retention: RetentionPolicy = { eventsPerHost: 10, attemptsPerHost: 10, auditEntries: 20 };

/**
 * Reads rows until there are at most `bound`, for up to 10 s: PostgreSQL prunes past the retention after the
 * write that crossed it has returned (SQLite within it), and on a loaded machine that can take a while.
 */
async function whenPruned<T>(read: () => Promise<T[]>, bound: number): Promise<T[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = await read();
    if (rows.length <= bound || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A place to keep one database: open() may be called several times on it (restarts, replicas). */
interface Database {
  open(): Promise<FleetStore>;
  drop(): void;
}

interface Implementation {
  name: string;
  /** Why it cannot run here, or null. */
  missing(): string | null;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  database(): Promise<Database>;
  /** Several hub replicas may share one database. */
  shared: boolean;
}

const sqlite: Implementation = {
  name: 'SqliteFleetStore',
  shared: false,
  missing: () => null,
  setup: async () => {},
  teardown: async () => {},
  database() {
    const dir = mkdtempSync(join(tmpdir(), 'gitfleet-contract-store-'));
    return Promise.resolve({
      open: () => Promise.resolve(new SqliteFleetStore(join(dir, 'hub.sqlite'), retention)),
      drop: () => rmSync(dir, { recursive: true, force: true }),
    });
  },
};

let cluster: PostgresCluster | null = null;
const postgres: Implementation = {
  name: 'PostgresFleetStore',
  shared: true,
  missing: postgresMissing,
  async setup() {
    cluster = await startPostgres();
  },
  async teardown() {
    await cluster?.stop();
  },
  async database() {
    const url = await cluster!.createDatabase();
    return { open: () => PostgresFleetStore.open(url, { retention }), drop: () => {} };
  },
};

let clock = Date.parse('2026-03-01T00:00:00Z');
const at = () => new Date((clock += 1000)).toISOString();

function attempt(startedAt: string, trigger: Attempt['trigger'] = 'poll'): Attempt {
  return { trigger, revision: 'r'.repeat(40), startedAt, durationMs: 7, result: 'Succeeded', intended: [], driftCorrected: [] };
}

function status(host: string, note: string, attempts: Attempt[] = []): HostStatus {
  const now = at();
  return {
    host,
    place: 'dc1',
    tags: ['web'],
    conditions: [{ type: 'Ready', status: true, reason: 'Applied', message: note, lastTransitionTime: now }],
    lastAppliedRevision: 'a'.repeat(40),
    lastAttemptedRevision: 'a'.repeat(40),
    resources: [{ id: 'container/web', sync: 'InSync', health: 'Healthy', diff: [] }],
    attempts,
    updatedAt: now,
  };
}

const hello = (o: { place?: string; dropped?: number; seenAt?: string } = {}) => ({
  place: o.place ?? 'dc1/rack2',
  tags: ['web', 'eu'],
  agentVersion: '1.2.3',
  facts: {
    hostname: 'h',
    os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', codename: 'bookworm' },
    kernel: '6.1.0',
    arch: 'x64',
    cpu: { model: null, cores: 2 },
    memory: { totalBytes: 1024 },
    disks: [{ mount: '/', fs: 'ext4', sizeBytes: 10, usedBytes: 5 }],
    addresses: [{ iface: 'eth0', address: '10.0.0.5', family: 'IPv4' }],
    uptimeSeconds: 12.5,
    docker: null,
    systemd: { version: '252' },
    collectedAt: '2026-03-01T00:00:00.000Z',
  } satisfies HostFacts,
  droppedEvents: o.dropped ?? 0,
  seenAt: o.seenAt ?? at(),
});

for (const impl of [sqlite, postgres]) {
  describe(`FleetStore contract: ${impl.name}`, () => {
    const skip = impl.missing();
    const opened: FleetStore[] = [];
    const databases: Database[] = [];
    /** A fresh database and a first store on it; everything is closed and removed after the suite. */
    const fresh = async () => {
      const db = await impl.database();
      databases.push(db);
      const open = async () => {
        const s = await db.open();
        opened.push(s);
        return s;
      };
      return { db, open, store: await open() };
    };

    /** Only for stores several hubs share: the SQLite file belongs to one hub. */
    const sharedTest = (name: string, fn: (t: TestContext) => Promise<void>) => {
      if (impl.shared) test(name, fn);
    };

    before(async () => {
      if (skip === null) await impl.setup();
    });
    after(async () => {
      await Promise.allSettled(opened.map((s) => s.close()));
      for (const d of databases) d.drop();
      if (skip === null) await impl.teardown();
    });

    test('enroll, claim after reset, and credential hashes', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store } = await fresh();
      assert.equal(await store.getHost('web-01'), null);
      await store.enroll('web-01', 'hash-1', '2026-03-01T00:00:00.000Z');
      const h = await store.getHost('web-01');
      assert.equal(h?.credentialHash, 'hash-1');
      assert.equal(h?.enrolledAt, '2026-03-01T00:00:00.000Z');
      assert.equal(h?.lastSeq, 0);
      assert.equal(h?.status, null);
      await store.resetCredential('web-01');
      assert.equal((await store.getHost('web-01'))?.credentialHash, null);
      await store.enroll('web-01', 'hash-2', '2026-03-02T00:00:00.000Z');
      assert.equal((await store.getHost('web-01'))?.credentialHash, 'hash-2');
      assert.equal((await store.getHost('web-01'))?.enrolledAt, '2026-03-02T00:00:00.000Z');
      await store.resetCredential('nobody');
      assert.deepEqual(
        (await store.listHosts()).map((r) => r.id),
        ['web-01'],
      );
    });

    test('hello records place, tags, version, facts; dropped events never go down; touch', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store } = await fresh();
      await store.enroll('db-01', 'hash', at());
      const first = hello({ dropped: 7 });
      await store.recordHello('db-01', first);
      let h = await store.getHost('db-01');
      assert.equal(h?.place, 'dc1/rack2');
      assert.deepEqual(h?.tags, ['web', 'eu']);
      assert.equal(h?.agentVersion, '1.2.3');
      assert.deepEqual(h?.facts, first.facts);
      assert.equal(h?.lastSeenAt, first.seenAt);
      assert.equal(h?.droppedEvents, 7);
      await store.recordHello('db-01', hello({ place: 'dc2', dropped: 3 }));
      h = await store.getHost('db-01');
      assert.equal(h?.place, 'dc2');
      assert.equal(h?.droppedEvents, 7, 'a restarted agent reporting fewer drops does not lower the count');
      const seen = at();
      await store.touch('db-01', seen);
      assert.equal((await store.getHost('db-01'))?.lastSeenAt, seen);
    });

    test('statuses of many hosts in one read: hosts without a status and unknown ids left out', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store } = await fresh();
      for (const id of ['s1', 's2', 's3']) await store.enroll(id, `hash-${id}`, at());
      const one = status('s1', 'one');
      const three = status('s3', 'three é');
      await store.saveStatus('s1', 1, one);
      await store.saveStatus('s3', 1, three);
      const read = await store.statuses(['s1', 's2', 's3', 'nobody']);
      assert.deepEqual(read.sort((a, b) => a.id.localeCompare(b.id)), [{ id: 's1', status: one }, { id: 's3', status: three }]);
      assert.deepEqual(await store.statuses([]), []);
    });

    test('statuses: only a higher seq replaces the stored one; resends and stale ones are ignored', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store } = await fresh();
      await store.enroll('h1', 'hash', at());
      assert.equal(await store.saveStatus('nobody', 1, status('nobody', 'x')), false, 'no such host');
      assert.equal(await store.saveStatus('h1', 5, status('h1', 'five')), true);
      assert.equal(await store.saveStatus('h1', 5, status('h1', 'five again')), false, 'a resend');
      assert.equal(await store.saveStatus('h1', 4, status('h1', 'four')), false, 'stale');
      let h = await store.getHost('h1');
      assert.equal(h?.lastSeq, 5);
      assert.equal(h?.status?.conditions[0]?.message, 'five');
      const seven = status('h1', 'seven \u00e9\u4e2d \u0000 nul');
      assert.equal(await store.saveStatus('h1', 7, seven), true);
      h = await store.getHost('h1');
      assert.deepEqual(h?.status, seven, 'the snapshot round-trips exactly');
      assert.equal(h?.lastSeq, 7);
      // Events share the seq space: an event at or below the stored seq is a resend.
      assert.equal(await store.appendEvent('h1', { seq: 7, time: at(), level: 'info', reason: 'Dup', message: 'x' }), false);
      assert.equal(await store.appendEvent('h1', { seq: 8, time: at(), level: 'warning', reason: 'Drift', message: 'm', resource: 'container/web' }), true);
      assert.equal(await store.saveStatus('h1', 8, status('h1', 'eight')), false, 'seq 8 was the event');
      assert.equal((await store.getHost('h1'))?.lastSeq, 8);
    });

    test('writes for many hosts at once (batched on PostgreSQL): each host\'s writes keep their order and seq rules', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store } = await fresh();
      const ids = Array.from({ length: 300 }, (_, i) => `b-${i}`);
      await Promise.all(ids.map((id) => store.enroll(id, `hash-${id}`, at())));
      // Fired without waiting, in this order per host: the store must apply them in it.
      const results = await Promise.all(
        ids.map((id) =>
          Promise.all([
            store.recordHello(id, hello({ place: `p/${id}` })).then(() => true),
            store.saveStatus(id, 1, status(id, 'one')),
            store.appendEvent(id, { seq: 2, time: at(), level: 'info', reason: 'Two', message: 'two' }),
            store.saveStatus(id, 3, status(id, 'three')),
            store.saveStatus(id, 2, status(id, 'stale two')),
            store.appendEvent(id, { time: at(), level: 'info', reason: 'HubNote', message: 'no seq' }),
          ]),
        ),
      );
      for (const r of results) assert.deepEqual(r, [true, true, true, true, false, true]);
      for (const id of [ids[0]!, ids[150]!, ids[299]!]) {
        const h = await store.getHost(id);
        assert.equal(h?.lastSeq, 3);
        assert.equal(h?.place, `p/${id}`);
        assert.equal(h?.status?.conditions[0]?.message, 'three');
        assert.deepEqual(
          (await store.events(id, 10)).map((e) => e.reason),
          ['HubNote', 'Two'],
        );
      }
    });

    test('events: newest first, hub events without seq, bounded per host', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store } = await fresh();
      await store.enroll('h1', 'hash', at());
      await store.enroll('h2', 'hash', at());
      assert.equal(await store.appendEvent('h1', { time: at(), level: 'info', reason: 'Enrolled', message: 'hub event' }), true);
      for (let seq = 1; seq <= 60; seq++) {
        assert.equal(await store.appendEvent('h1', { seq, time: at(), level: 'info', reason: 'E', message: `e${seq}` }), true);
      }
      await store.appendEvent('h2', { seq: 1, time: at(), level: 'error', reason: 'Other', message: 'h2 only', resource: 'unit/x.service' });
      const events = await whenPruned(() => store.events('h1', 1000), retention.eventsPerHost + 25);
      assert.ok(events.length >= retention.eventsPerHost && events.length <= retention.eventsPerHost + 25, `bounded, got ${events.length}`);
      assert.deepEqual(
        events.slice(0, 5).map((e) => e.seq),
        [60, 59, 58, 57, 56],
      );
      assert.equal(events[0]?.message, 'e60');
      assert.ok(!events.some((e) => e.message === 'h2 only'));
      assert.equal((await store.events('h1', 3)).length, 3);
      const [other] = await store.events('h2', 10);
      assert.deepEqual(other && { ...other, time: 'x' }, { time: 'x', level: 'error', reason: 'Other', message: 'h2 only', resource: 'unit/x.service', seq: 1 });
      const { store: s2 } = await fresh();
      await s2.appendEvent('h9', { time: at(), level: 'info', reason: 'Hub', message: 'no seq' });
      const [hubEvent] = await s2.events('h9', 10);
      assert.equal(hubEvent?.seq, undefined, 'a hub event has no seq');
      assert.equal(hubEvent?.resource, undefined);
    });

    test('attempts: newest first, each stored once across snapshots, bounded per host', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store } = await fresh();
      await store.enroll('h1', 'hash', at());
      const all: Attempt[] = [];
      let seq = 0;
      for (let i = 0; i < 50; i++) {
        all.push(attempt(at(), i % 5 === 0 ? 'hub' : 'poll'));
        // An agent sends its last few attempts, newest first, with every snapshot.
        assert.equal(await store.saveStatus('h1', ++seq, status('h1', `s${i}`, all.slice(-5).reverse())), true);
      }
      const stored = await whenPruned(() => store.attempts('h1', 1000), retention.attemptsPerHost + 25);
      assert.ok(stored.length >= retention.attemptsPerHost && stored.length <= retention.attemptsPerHost + 25, `bounded, got ${stored.length}`);
      assert.equal(new Set(stored.map((a) => a.startedAt)).size, stored.length, 'no duplicates');
      assert.deepEqual(
        stored.slice(0, 6).map((a) => a.startedAt),
        all.slice(-6).reverse().map((a) => a.startedAt),
      );
      assert.deepEqual(stored[0], all.at(-1));
      // A stale snapshot brings no attempts in.
      assert.equal(await store.saveStatus('h1', 1, status('h1', 'old', [attempt(at())])), false);
      assert.equal((await store.attempts('h1', 1))[0]?.startedAt, all.at(-1)?.startedAt);
      assert.equal((await store.attempts('h1', 4)).length, 4);
    });

    test('attempts made after the agent\'s clock was stepped back are stored; pruned ones do not come back', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store } = await fresh();
      await store.enroll('h1', 'hash', at());
      const window: Attempt[] = [];
      let seq = 0;
      const send = async (a: Attempt) => {
        window.unshift(a);
        window.splice(5);
        assert.equal(await store.saveStatus('h1', ++seq, status('h1', a.startedAt, window)), true);
      };
      for (let i = 0; i < 14; i++) await send(attempt(`2026-06-01T12:${String(i).padStart(2, '0')}:00.000Z`));
      // An hour back: every new attempt's time is older than the newest stored one.
      await send(attempt('2026-06-01T11:20:00.000Z'));
      await send(attempt('2026-06-01T11:21:00.000Z', 'hub'));
      const stored = await store.attempts('h1', 1000);
      assert.deepEqual(stored.slice(0, 3).map((a) => a.startedAt), ['2026-06-01T11:21:00.000Z', '2026-06-01T11:20:00.000Z', '2026-06-01T12:13:00.000Z'], 'newest first by arrival');
      assert.equal(new Set(stored.map((a) => `${a.startedAt} ${a.trigger}`)).size, stored.length, 'no duplicates');
      assert.ok(stored.length <= retention.attemptsPerHost + 25);
      // A window whose oldest entry the store does not hold (pruned, or never sent): it is not brought back.
      const pruned = attempt('2026-06-01T10:00:00.000Z');
      assert.equal(await store.saveStatus('h1', ++seq, status('h1', 'window', [attempt('2026-06-01T11:30:00.000Z'), stored[0]!, pruned])), true);
      const after = await store.attempts('h1', 1000);
      assert.equal(after[0]?.startedAt, '2026-06-01T11:30:00.000Z');
      assert.ok(!after.some((a) => a.startedAt === pruned.startedAt), 'an attempt older than a stored one is not inserted');
    });

    test('everything survives closing and reopening', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store, open } = await fresh();
      await store.enroll('h1', 'hash-p', '2026-03-01T00:00:00.000Z');
      await store.recordHello('h1', hello({ dropped: 2 }));
      const s = status('h1', 'persisted', [attempt(at())]);
      await store.saveStatus('h1', 3, s);
      await store.appendEvent('h1', { seq: 4, time: at(), level: 'info', reason: 'Kept', message: 'after restart' });
      await store.close();
      await assert.rejects(async () => store.getHost('h1'), 'a closed store is not used');
      const again = await open();
      const h = await again.getHost('h1');
      assert.equal(h?.credentialHash, 'hash-p');
      assert.equal(h?.lastSeq, 4);
      assert.equal(h?.droppedEvents, 2);
      assert.deepEqual(h?.status, s);
      assert.equal((await again.events('h1', 1))[0]?.message, 'after restart');
      assert.deepEqual(await again.attempts('h1', 10), s.attempts);
      assert.equal(await again.saveStatus('h1', 4, status('h1', 'resent after restart')), false);
    });

    test('two enrollments of one id at once: exactly one wins, the other is refused HOST_CLAIMED', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store } = await fresh();
      const outcome = await Promise.allSettled([store.enroll('race', 'hash-a', at()), store.enroll('race', 'hash-b', at())]);
      assert.equal(outcome.filter((o) => o.status === 'fulfilled').length, 1);
      const refused = outcome.find((o) => o.status === 'rejected');
      assert.ok(isGitfleetError(refused?.reason, 'HOST_CLAIMED'), String(refused?.reason));
      const winner = outcome[0]!.status === 'fulfilled' ? 'hash-a' : 'hash-b';
      assert.equal((await store.getHost('race'))?.credentialHash, winner);
      // An enrolled id is never taken over by a later enrollment either.
      await assert.rejects(store.enroll('race', 'hash-c', at()), (e: unknown) => isGitfleetError(e, 'HOST_CLAIMED'));
      assert.equal((await store.getHost('race'))?.credentialHash, winner);
    });

    test('deleteHost removes the host, its status, facts, events and attempts, and nothing of other hosts', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store, open } = await fresh();
      for (const id of ['gone', 'kept']) {
        await store.enroll(id, `hash-${id}`, at());
        await store.recordHello(id, hello());
        await store.saveStatus(id, 2, status(id, id, [attempt(at())]));
        await store.appendEvent(id, { seq: 3, time: at(), level: 'info', reason: 'E', message: id });
        await store.appendEvent(id, { time: at(), level: 'info', reason: 'Hub', message: 'hub event' });
      }
      assert.equal(await store.deleteHost('gone'), true);
      assert.equal(await store.deleteHost('gone'), false, 'a second delete finds nothing');
      assert.equal(await store.deleteHost('never'), false);
      assert.equal(await store.getHost('gone'), null);
      assert.deepEqual(await store.events('gone', 10), []);
      assert.deepEqual(await store.attempts('gone', 10), []);
      assert.deepEqual(
        (await store.listHosts()).map((h) => h.id),
        ['kept'],
      );
      assert.equal((await store.events('kept', 10)).length, 2);
      assert.equal((await store.attempts('kept', 10)).length, 1);
      // The id is free again: a new enrollment starts from nothing (seq 0, no history).
      await store.enroll('gone', 'hash-new', at());
      const again = await store.getHost('gone');
      assert.equal(again?.credentialHash, 'hash-new');
      assert.equal(again?.lastSeq, 0);
      assert.equal(again?.status, null);
      assert.equal(await store.saveStatus('gone', 1, status('gone', 'fresh', [attempt('2000-01-01T00:00:00.000Z')])), true);
      assert.equal((await store.attempts('gone', 10)).length, 1, 'an old attempt time is new for a new host');
      await store.close();
      const reopened = await open();
      assert.deepEqual((await reopened.events('gone', 10)).length, 0);
    });

    test('rollouts: saved and replaced by id, listed newest first up to the limit, kept across a reopen', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store, open } = await fresh();
      const rollout = (id: string, createdAt: string): RolloutRecord => ({
        id, revision: id.padEnd(40, '0'), subject: 'bump nginx \u00e9 \u0000', scope: 'prod/eu', state: 'running', createdAt, updatedAt: createdAt,
        policy: { waves: [{ percent: 10 }, { tags: ['prod/eu'] }], soakMs: 60_000, failureBudget: '5%', window: { days: ['mon'], hours: '08:00-17:00' }, waveTimeoutMs: null, onHalt: 'rollback' },
        waves: [{ name: 'wave 1', hosts: ['web-01'], openedAt: createdAt, closedAt: null }], current: 0, soakUntil: null,
        baseline: { 'web-01': 'f'.repeat(40) }, failed: [], budget: 0, haltReason: null, history: [{ action: 'created', by: 'hub', at: createdAt }],
      });
      await store.saveRollout(rollout('aaaaaaaaaaaa', '2026-03-01T00:00:00.000Z'));
      await store.saveRollout(rollout('bbbbbbbbbbbb', '2026-03-01T00:00:02.000Z'));
      await store.saveRollout(rollout('cccccccccccc', '2026-03-01T00:00:01.000Z'));
      const halted = { ...rollout('aaaaaaaaaaaa', '2026-03-01T00:00:00.000Z'), state: 'halted' as const, failed: ['web-01'], haltReason: 'over budget' };
      await store.saveRollout(halted);
      assert.deepEqual((await store.listRollouts(10)).map((r) => `${r.id} ${r.state}`), ['bbbbbbbbbbbb running', 'cccccccccccc running', 'aaaaaaaaaaaa halted']);
      assert.deepEqual((await store.listRollouts(1)).map((r) => r.id), ['bbbbbbbbbbbb']);
      await store.close();
      const reopened = await open();
      assert.deepEqual((await reopened.listRollouts(10)).find((r) => r.id === 'aaaaaaaaaaaa'), halted, 'the whole record round-trips');
    });

    test('enrollment tokens: stored hashed, found by hash, uses counted up to the maximum, expiry, delete', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store, open } = await fresh();
      const base = { createdAt: '2026-03-01T00:00:00.000Z', uses: 0, hostPattern: null, tag: null };
      await store.createEnrollmentToken({ ...base, id: 'tok-a', name: 'kiosks \u00e9', secretHash: 'sha-a', expiresAt: null, maxUses: 2, hostPattern: 'kiosk-*', tag: 'prod/kiosks' });
      await store.createEnrollmentToken({ ...base, id: 'tok-b', name: 'short-lived', secretHash: 'sha-b', createdAt: '2026-03-01T00:00:01.000Z', expiresAt: '2026-03-02T00:00:00.000Z', maxUses: null });
      await assert.rejects(store.createEnrollmentToken({ ...base, id: 'tok-c', name: 'same secret', secretHash: 'sha-a', expiresAt: null, maxUses: null }), 'a secret hash is unique');
      assert.deepEqual(
        (await store.listEnrollmentTokens()).map((x) => x.id),
        ['tok-a', 'tok-b'],
      );
      const a = await store.findEnrollmentToken('sha-a');
      assert.deepEqual(a, { ...base, id: 'tok-a', name: 'kiosks \u00e9', secretHash: 'sha-a', expiresAt: null, maxUses: 2, hostPattern: 'kiosk-*', tag: 'prod/kiosks' });
      assert.equal(await store.findEnrollmentToken('sha-none'), null);
      // Three racing uses of a two-use token: exactly two are counted.
      const uses = await Promise.all([1, 2, 3].map(() => store.useEnrollmentToken('tok-a', '2026-03-01T01:00:00.000Z')));
      assert.equal(uses.filter(Boolean).length, 2);
      assert.equal((await store.findEnrollmentToken('sha-a'))?.uses, 2);
      assert.equal(await store.useEnrollmentToken('tok-b', '2026-03-01T23:59:59.000Z'), true, 'before expiry');
      assert.equal(await store.useEnrollmentToken('tok-b', '2026-03-02T00:00:00.000Z'), false, 'expired');
      assert.equal(await store.useEnrollmentToken('tok-none', '2026-03-01T00:00:00.000Z'), false);
      assert.equal(await store.deleteEnrollmentToken('tok-b'), true);
      assert.equal(await store.deleteEnrollmentToken('tok-b'), false);
      assert.equal(await store.findEnrollmentToken('sha-b'), null);
      assert.equal(await store.useEnrollmentToken('tok-b', '2026-03-01T00:00:00.000Z'), false, 'a deleted token enrolls nothing');
      await store.close();
      const reopened = await open();
      assert.equal((await reopened.findEnrollmentToken('sha-a'))?.uses, 2, 'uses survive a restart');
    });

    test('audit log: newest first, paged by id, bounded fields, the oldest entries past the retention go', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store } = await fresh();
      assert.deepEqual(await store.listAudit({ limit: 10 }), []);
      for (let i = 1; i <= 25; i++) {
        await store.appendAudit({ time: at(), actor: i === 3 ? null : 'admin', address: '127.0.0.1', action: i === 3 ? 'login.failed' : 'reconcile', target: `host web-${i}`, outcome: i === 3 ? 'refused' : 'ok', ...(i === 25 ? { detail: 'x'.repeat(5000) } : {}) });
      }
      const all = await store.listAudit({ limit: 100 });
      assert.equal(all.length, 20, 'retention: the newest 20 only');
      assert.deepEqual(all.map((e) => e.target).slice(0, 3), ['host web-25', 'host web-24', 'host web-23']);
      assert.equal(all[all.length - 1]!.target, 'host web-6');
      assert.ok(all.every((e, i) => i === 0 || e.id < all[i - 1]!.id), 'ids decrease');
      assert.equal(all[0]!.detail!.length, 1000, 'detail is bounded');
      assert.equal(all[1]!.detail, undefined);
      assert.equal(all[0]!.actor, 'admin');
      const page = await store.listAudit({ before: all[4]!.id, limit: 3 });
      assert.deepEqual(page.map((e) => e.target), ['host web-20', 'host web-19', 'host web-18']);
      // Unicode and quotes survive both databases.
      await store.appendAudit({ time: at(), actor: null, address: '::1', action: 'login.failed', target: "GET /api/v1/hosts?q='é\u0000'", outcome: 'refused' });
      assert.equal((await store.listAudit({ limit: 1 }))[0]!.address, '::1');
    });

    test('fleet history: one bucket per resolution and time, replaced when written again, read per scope, old points dropped', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store } = await fresh();
      const minute = (m: number) => new Date(Date.parse('2026-03-01T10:00:00Z') + m * 60_000).toISOString();
      await store.saveHistory({ resolution: '1m', at: minute(0), scopes: [{ scope: '', counts: { InSync: 3 } }, { scope: 'prod/eu', counts: { InSync: 2 } }] }, minute(-60));
      await store.saveHistory({ resolution: '1m', at: minute(1), scopes: [{ scope: '', counts: { InSync: 2, Failed: 1 } }, { scope: 'prod/eu', counts: { InSync: 1, Failed: 1 } }] }, minute(-59));
      await store.saveHistory({ resolution: '1m', at: minute(1), scopes: [{ scope: '', counts: { InSync: 2, Drifted: 1 } }] }, minute(-59));
      await store.saveHistory({ resolution: '1h', at: minute(0), scopes: [{ scope: '', counts: { InSync: 3 } }] }, minute(-600));
      assert.deepEqual(await store.history('1m', '', minute(0)), [
        { at: minute(0), counts: { InSync: 3 } },
        { at: minute(1), counts: { InSync: 2, Drifted: 1 } },
      ]);
      assert.deepEqual(await store.history('1m', 'prod/eu', minute(1)), [{ at: minute(1), counts: { InSync: 1, Failed: 1 } }]);
      assert.deepEqual(await store.history('1h', '', minute(-5)), [{ at: minute(0), counts: { InSync: 3 } }]);
      assert.deepEqual(await store.history('1m', 'nope', minute(0)), []);
      await store.saveHistory({ resolution: '1m', at: minute(2), scopes: [{ scope: '', counts: {} }] }, minute(1));
      assert.deepEqual((await store.history('1m', '', minute(-100))).map((p) => p.at), [minute(1), minute(2)], 'points before dropBefore are gone');
      assert.equal((await store.history('1h', '', minute(-5))).length, 1, 'another resolution keeps its points');
    });

    test('notification state: keys written, replaced and deleted in one call, read back after a reopen', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store, open } = await fresh();
      assert.deepEqual(await store.notifyState(), []);
      await store.saveNotifyState([
        { key: 'group:["r1","failed"]', body: '{"named":["web-01"]}' },
        { key: 'commit:abc', body: '"failure 1 of 2"' },
        { key: 'head:r1', body: '"abc"' },
      ]);
      await store.saveNotifyState([
        { key: 'commit:abc', body: '"success 2 of 2 é"' },
        { key: 'head:r1', body: null },
        { key: 'never-written', body: null },
      ]);
      const expected = [
        { key: 'commit:abc', body: '"success 2 of 2 é"' },
        { key: 'group:["r1","failed"]', body: '{"named":["web-01"]}' },
      ];
      assert.deepEqual(await store.notifyState(), expected);
      await store.saveNotifyState([]);
      const reopened = await open();
      assert.deepEqual(await reopened.notifyState(), expected, 'the state outlives the process (a restart, another replica)');
    });

    sharedTest('replicas: two stores on one database see each other’s writes', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store: a, open } = await fresh();
      const b = await open();
      await a.enroll('h1', 'hash-a', at());
      assert.equal((await b.getHost('h1'))?.credentialHash, 'hash-a', 'B authenticates a host A enrolled');
      await b.recordHello('h1', hello({ place: 'via-b' }));
      assert.equal((await a.getHost('h1'))?.place, 'via-b');
      // The agent moved from A to B and resends: B refuses what A stored.
      assert.equal(await a.saveStatus('h1', 10, status('h1', 'via A', [attempt(at())])), true);
      assert.equal(await b.saveStatus('h1', 10, status('h1', 'resent via B')), false);
      assert.equal(await b.saveStatus('h1', 11, status('h1', 'via B', [attempt(at())])), true);
      assert.equal((await a.getHost('h1'))?.status?.conditions[0]?.message, 'via B');
      assert.equal((await a.attempts('h1', 10)).length, 2);
      // An agent's old and new connection deliver the same event through both replicas at once: it is stored once.
      for (const seq of [12, 13, 14]) {
        const results = await Promise.all([a, b].map((s) => s.appendEvent('h1', { seq, time: at(), level: 'info', reason: 'E', message: `e${seq}` })));
        assert.equal(results.filter(Boolean).length, 1, `seq ${seq} stored once`);
      }
      assert.deepEqual(
        (await a.events('h1', 10)).map((e) => e.seq),
        [14, 13, 12],
      );
      await b.resetCredential('h1');
      assert.equal((await a.getHost('h1'))?.credentialHash, null);
      assert.deepEqual(
        (await b.listHosts()).map((h) => h.id),
        ['h1'],
      );
    });

    sharedTest('replicas: racing to enroll one id, exactly one claims it', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const { store: a, open } = await fresh();
      const b = await open();
      const outcome = await Promise.allSettled([a.enroll('race', 'hash-a', at()), b.enroll('race', 'hash-b', at())]);
      assert.equal(outcome.filter((o) => o.status === 'fulfilled').length, 1);
      const refused = outcome.find((o) => o.status === 'rejected');
      assert.ok(isGitfleetError(refused?.reason, 'HOST_CLAIMED'));
      const winner = outcome[0]!.status === 'fulfilled' ? 'hash-a' : 'hash-b';
      assert.equal((await b.getHost('race'))?.credentialHash, winner);
    });

    sharedTest('replicas: two instances migrating one empty database at once', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const url = await cluster!.createDatabase();
      const stores = await Promise.all([1, 2, 3].map(() => PostgresFleetStore.open(url, { retention })));
      opened.push(...stores);
      await stores[0]!.enroll('m1', 'hash', at());
      assert.equal((await stores[2]!.getHost('m1'))?.credentialHash, 'hash');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const versions = await client.query<{ version: number }>('SELECT version FROM gitfleet_migrations ORDER BY version');
        assert.deepEqual(
          versions.rows.map((r) => r.version),
          postgresMigrations.map((_, i) => i + 1),
        );
        // A schema from a newer hub is refused with one line, not used.
        await client.query('INSERT INTO gitfleet_migrations (version) VALUES ($1)', [postgresMigrations.length + 5]);
      } finally {
        await client.end();
      }
      await assert.rejects(PostgresFleetStore.open(url), (e: unknown) => isGitfleetError(e, 'CONFIG_INVALID') && /newer than this hub/.test(e.message));
    });

    sharedTest('an unreachable database: one line naming host and port, not the password', async (t) => {
      if (!requireComponent(t, 'PostgreSQL server', skip)) return;
      const password = 'pw-that-must-not-leak';
      // The cluster's port with a wrong password, then a closed port.
      const wrong = `postgres://postgres:${password}@127.0.0.1:${cluster!.port}/postgres`;
      // A generous connect timeout: on a loaded machine the refusal can take seconds, and a timeout would be another error.
      await assert.rejects(PostgresFleetStore.open(wrong, { connectTimeoutMs: 15_000 }), (e: unknown) => {
        assert.ok(isGitfleetError(e, 'CONFIG_INVALID'));
        assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${cluster!.port}/postgres: .*password authentication failed`));
        assert.ok(!e.message.includes(password) && !e.message.includes('\n'), e.message);
        return true;
      });
      const closed = `postgres://postgres:${password}@127.0.0.1:1/gitfleet`;
      await assert.rejects(PostgresFleetStore.open(closed, { connectTimeoutMs: 3000 }), (e: unknown) => {
        assert.ok(isGitfleetError(e, 'CONFIG_INVALID'));
        assert.match(e.message, /cannot connect to PostgreSQL at 127\.0\.0\.1:1\/gitfleet: .*ECONNREFUSED/);
        assert.ok(!e.message.includes(password) && !e.message.includes('\n'), e.message);
        return true;
      });
    });
  });
}
