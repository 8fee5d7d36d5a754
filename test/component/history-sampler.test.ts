// The hub's history sampler with the real SQLite store and a fleet index on a
// simulated clock: a point a minute for the fleet and each tag, the hour's
// running average, points past the retention dropped, and a store error
// logged rather than thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FleetIndex } from '../../hub/fleet/fleet-index.ts';
import { HistorySampler } from '../../hub/history/history-sampler.ts';
import { SqliteFleetStore } from '../../hub/store/sqlite-store.ts';
import type { FleetStore } from '../../hub/store/fleet-store.ts';
import type { HostStatus, SyncState } from '../../shared/status.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

function report(index: FleetIndex, id: string, tag: string, sync: SyncState): void {
  index.hello(id, { place: `${tag}/${id}`, tags: [tag], agentVersion: 't', seenAt: new Date().toISOString() });
  const status: HostStatus = {
    host: id,
    place: `${tag}/${id}`,
    tags: [tag],
    conditions: [],
    lastAppliedRevision: 'a'.repeat(40),
    lastAttemptedRevision: 'a'.repeat(40),
    resources: [{ id: 'file/x', sync, health: 'Healthy', diff: [] }],
    attempts: [],
    updatedAt: new Date().toISOString(),
  } as HostStatus;
  index.status(id, status);
}

test('a point a minute per fleet and tag, the hour as a running average, old points dropped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-history-'));
  const store = new SqliteFleetStore(join(dir, 'hub.sqlite'));
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const index = new FleetIndex(() => {}, { summaryMaxAgeMs: 0 });
  report(index, 'web-01', 'prod/eu', 'InSync');
  report(index, 'web-02', 'prod/eu', 'InSync');
  report(index, 'db-01', 'prod/us', 'Failed');
  const start = Date.parse('2026-03-01T10:00:00Z');
  let clock = start + 5_000;
  const sampler = new HistorySampler(store, index, pino({ level: 'silent' }), () => clock);

  await sampler.sample();
  clock = start + MIN + 5_000;
  report(index, 'web-02', 'prod/eu', 'Drifted');
  await sampler.sample();

  const since = new Date(start - HOUR).toISOString();
  assert.deepEqual(await store.history('1m', '', since), [
    { at: '2026-03-01T10:00:00.000Z', counts: { InSync: 2, Failed: 1 } },
    { at: '2026-03-01T10:01:00.000Z', counts: { InSync: 1, Drifted: 1, Failed: 1 } },
  ]);
  assert.deepEqual((await store.history('1m', 'prod/eu', since)).map((p) => p.counts), [{ InSync: 2 }, { InSync: 1, Drifted: 1 }]);
  assert.deepEqual((await store.history('1m', 'prod', since)).map((p) => p.counts), [{ InSync: 2, Failed: 1 }, { InSync: 1, Drifted: 1, Failed: 1 }], 'a parent tag counts its subtree');
  // One hour point, rewritten each minute with the average so far.
  assert.deepEqual(await store.history('1h', '', since), [{ at: '2026-03-01T10:00:00.000Z', counts: { InSync: 1.5, Failed: 1, Drifted: 0.5 } }]);

  // A new hour starts its own average; 26 hours later the first minutes are gone, the hours stay.
  clock = start + HOUR + 5_000;
  await sampler.sample();
  assert.deepEqual((await store.history('1h', '', since)).map((p) => [p.at, p.counts]), [
    ['2026-03-01T10:00:00.000Z', { InSync: 1.5, Failed: 1, Drifted: 0.5 }],
    ['2026-03-01T11:00:00.000Z', { InSync: 1, Drifted: 1, Failed: 1 }],
  ]);
  clock = start + 26 * HOUR;
  await sampler.sample();
  // Minutes are kept 25 hours: 10:00 and 10:01 are gone, 11:00 (exactly 25 h old) is not yet.
  assert.deepEqual((await store.history('1m', '', since)).map((p) => p.at), ['2026-03-01T11:00:00.000Z', '2026-03-02T12:00:00.000Z']);
  assert.equal((await store.history('1h', '', since)).length, 3);
  clock = start + 9 * 24 * HOUR;
  await sampler.sample();
  assert.deepEqual((await store.history('1h', '', since)).map((p) => p.at), ['2026-03-02T12:00:00.000Z', '2026-03-10T10:00:00.000Z'], 'hours older than 8 days are dropped');
});

test('a store that fails: the sample is logged and skipped, the next one is written', async () => {
  const index = new FleetIndex(() => {}, { summaryMaxAgeMs: 0 });
  report(index, 'web-01', 'prod', 'InSync');
  const warnings: string[] = [];
  const saved: string[] = [];
  let fail = true;
  const store = {
    saveHistory: (b: { resolution: string; at: string }) => {
      if (fail) return Promise.reject(new Error('disk full'));
      saved.push(`${b.resolution} ${b.at}`);
      return Promise.resolve();
    },
  } as unknown as FleetStore;
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  const sampler = new HistorySampler(store, index, logger, () => Date.parse('2026-03-01T10:00:30Z'));
  await sampler.sample();
  assert.equal(saved.length, 0);
  assert.match(warnings.join(''), /could not store the fleet history point/);
  assert.match(warnings.join(''), /disk full/);
  fail = false;
  await sampler.sample();
  assert.deepEqual(saved, ['1m 2026-03-01T10:00:00.000Z', '1h 2026-03-01T10:00:00.000Z']);
});
