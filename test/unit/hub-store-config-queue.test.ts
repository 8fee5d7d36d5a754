// The SQLite store (real better-sqlite3 on a temp file), the hub config
// loader's one-line errors, and the agent's bounded on-disk report queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteFleetStore } from '../../hub/store/sqlite-store.ts';
import { loadHubConfig } from '../../hub/config.ts';
import { ReportQueue } from '../../agent/report/report-queue.ts';
import { isGitfleetError } from '../../shared/errors.ts';
import type { HostStatus } from '../../shared/status.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'gitfleet-unit-hub-'));
const status = (note: string, attempts: string[] = []): HostStatus => ({
  host: 'h1', place: '', tags: [], conditions: [{ type: 'Ready', status: true, reason: 'r', message: note, lastTransitionTime: 't' }],
  lastAppliedRevision: null, lastAttemptedRevision: null, resources: [],
  attempts: attempts.map((startedAt) => ({ trigger: 'poll', revision: 'r', startedAt, durationMs: 1, result: 'Succeeded', intended: [], driftCorrected: [] })),
  updatedAt: 't',
});

test('store: stale seqs are ignored, history is bounded, state survives reopening', async () => {
  const d = dir();
  const file = join(d, 'hub.sqlite');
  const store = new SqliteFleetStore(file, { eventsPerHost: 10, attemptsPerHost: 10 });
  await store.enroll('h1', 'hash', 't');
  assert.equal(await store.saveStatus('h1', 5, status('five', ['2026-01-01T00:00:01Z'])), true);
  assert.equal(await store.saveStatus('h1', 4, status('four')), false);
  assert.equal(await store.appendEvent('h1', { seq: 5, time: 't', level: 'info', reason: 'Dup', message: 'same seq' }), false);
  for (let i = 6; i < 60; i++) await store.appendEvent('h1', { seq: i, time: 't', level: 'info', reason: 'E', message: `e${i}` });
  // An agent lists its attempts newest first.
  await store.saveStatus('h1', 60, status('sixty', ['2026-01-01T00:00:02Z', '2026-01-01T00:00:01Z']));
  const events = await store.events('h1', 1000);
  assert.ok(events.length <= 10 + 25, `bounded, got ${events.length}`);
  assert.equal(events[0]!.message, 'e59');
  assert.equal((await store.attempts('h1', 10)).length, 2);
  await store.close();
  const again = new SqliteFleetStore(file);
  const h = await again.getHost('h1');
  assert.equal(h?.credentialHash, 'hash');
  assert.equal(h?.lastSeq, 60);
  assert.equal(h?.status?.conditions[0]?.message, 'sixty');
  await again.close();
  rmSync(d, { recursive: true, force: true });
});

test('config: defaults, env over file, one line naming the bad key', () => {
  const d = dir();
  const env = { GITFLEET_HUB_ENROLLMENT_TOKEN: 'e'.repeat(20), GITFLEET_HUB_ADMIN_TOKEN: 'a'.repeat(20) };
  const c = loadHubConfig(undefined, env);
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8080 });
  assert.equal(c.dataDir, '/var/lib/gitfleet-hub');
  const file = join(d, 'hub.yaml');
  writeFileSync(file, 'listen: 0.0.0.0:9000\nadminToken: short\n');
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['listen: 0.0.0.0:9000\n', {}, /adminToken: required/],
    ['enrollRate:\n  perAddress: 0\n', env, /enrollRate\.perAddress: /],
    ['listen: nope\n', env, /listen: host:port/],
    ['adminToken: short\n', { GITFLEET_HUB_ENROLLMENT_TOKEN: 'e'.repeat(20) }, /adminToken: at least 16 characters/],
    ['lisen: 1\n', env, /lisen: not a hub configuration key/],
    ['heartbeat: forever\n', env, /heartbeat: a duration/],
    ['database: mysql://u:p@h/d\n', env, /database: a postgres:\/\/ or postgresql:\/\/ URL, not mysql:/],
  ];
  for (const [yaml, e, message] of cases) {
    writeFileSync(file, yaml);
    assert.throws(() => loadHubConfig(file, e), (err: unknown) => isGitfleetError(err, 'CONFIG_INVALID') && message.test(err.message) && !err.message.includes('\n'), yaml);
  }
  writeFileSync(file, 'listen: 0.0.0.0:9000\n');
  assert.equal(loadHubConfig(file, { ...env, GITFLEET_HUB_LISTEN: '127.0.0.2:81' }).listen.port, 81);
  // The fleet-wide enrollment token is optional (scoped tokens may be the only ones); the rates have defaults.
  const scopedOnly = loadHubConfig(undefined, { GITFLEET_HUB_ADMIN_TOKEN: 'a'.repeat(20), GITFLEET_HUB_ENROLL_RATE_PER_ADDRESS: '5' });
  assert.equal(scopedOnly.enrollmentToken, undefined);
  assert.deepEqual(scopedOnly.enrollRate, { perAddress: 5, perToken: 600 });
  rmSync(d, { recursive: true, force: true });
});

test('report queue: latest status kept, oldest events dropped and counted, persisted, acked, rebased', async () => {
  const d = dir();
  const file = join(d, 'q.json');
  const q = new ReportQueue(file, 2000);
  q.pushStatus(status('old'));
  for (let i = 0; i < 40; i++) q.pushEvent({ time: 't', level: 'info', reason: 'E', message: `event-${i}` });
  q.pushStatus(status('latest'));
  const pending = q.pending();
  assert.ok(q.bytes <= 2000);
  assert.equal(pending.filter((p) => p.type === 'status').length, 1);
  assert.equal((pending.find((p) => p.type === 'status') as { status: HostStatus }).status.conditions[0]!.message, 'latest');
  assert.ok(q.droppedEvents > 0);
  const events = pending.filter((p) => p.type === 'event') as Array<{ message: string; seq: number }>;
  assert.equal(events.at(-1)!.message, 'event-39', 'the newest events survive');
  assert.deepEqual(pending.map((p) => p.seq), [...pending.map((p) => p.seq)].sort((a, b) => a - b));
  await q.save();
  const reloaded = new ReportQueue(file, 2000);
  assert.deepEqual(reloaded.pending(), pending);
  assert.equal(reloaded.droppedEvents, q.droppedEvents);
  reloaded.ackUpTo(events[2]!.seq);
  assert.equal(reloaded.pending()[0]!.seq, events[3]!.seq);
  // A hub that has seen more than this agent numbered (agent state lost): pending reports move after it.
  reloaded.rebase(10_000);
  assert.equal(reloaded.pending()[0]!.seq, 10_001);
  writeFileSync(file, '{broken');
  assert.match(new ReportQueue(file).loadError ?? '', /JSON/);
  rmSync(d, { recursive: true, force: true });
});
