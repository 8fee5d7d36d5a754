import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TriggerQueue } from '../../agent/loop/trigger-queue.ts';
import { jittered } from '../../agent/loop/schedule.ts';
import { FlapGuard } from '../../agent/engine/flap-guard.ts';
import type { Trigger } from '../../shared/status.ts';
import { decide, type Rejection } from '../../agent/loop/retry-policy.ts';
import { durationMs, durationPattern, durationSeconds } from '../../shared/durations.ts';
import { redactUrl } from '../../shared/redact.ts';
import { redactDatabaseUrl } from '../../hub/store/postgres-url.ts';

test('trigger queue: one run at a time, concurrent triggers coalesce into one follow-up', async () => {
  const runs: Trigger[] = [];
  let active = 0;
  let maxActive = 0;
  let release: () => void = () => undefined;
  const queue = new TriggerQueue(async (t) => {
    active++;
    maxActive = Math.max(maxActive, active);
    runs.push(t);
    if (runs.length === 1) await new Promise<void>((r) => (release = r));
    active--;
  }, () => undefined);
  const first = queue.request('startup');
  const others = [queue.request('drift-check'), queue.request('docker-event'), queue.request('hub'), queue.request('drift-check')];
  release();
  await Promise.all([first, ...others]);
  assert.deepEqual(runs, ['startup', 'hub'], 'the follow-up takes the strongest pending trigger');
  assert.equal(maxActive, 1);
  assert.equal(queue.coalesced, 3);
});

test('trigger queue: a failing run does not stop the next', async () => {
  const errors: unknown[] = [];
  let n = 0;
  const queue = new TriggerQueue(async () => {
    n++;
    if (n === 1) throw new Error('boom');
  }, (e) => errors.push(e));
  await queue.request('poll');
  await queue.request('poll');
  assert.equal(n, 2);
  assert.equal(errors.length, 1);
});

test('jitter stays within ±10% and varies', () => {
  assert.equal(jittered(60_000, 0.1, () => 0), 54_000);
  assert.equal(jittered(60_000, 0.1, () => 1), 66_000);
  assert.equal(jittered(60_000, 0.1, () => 0.5), 60_000);
});

test('flap guard: backs off after repeated drift restarts, exponentially and capped', () => {
  let now = 0;
  const guard = new FlapGuard({ maxRestarts: 3, windowMs: 60_000, baseBackoffMs: 10_000, maxBackoffMs: 25_000, now: () => now });
  for (let i = 0; i < 3; i++) guard.restarted('container/web');
  assert.equal(guard.suppressed().size, 0, 'three restarts are allowed');
  guard.restarted('container/web');
  assert.match(guard.suppressed().get('container/web') ?? '', /flapping/);
  now += 10_001;
  assert.equal(guard.suppressed().size, 0, 'the first pause lasts the base backoff');
  for (let i = 0; i < 4; i++) guard.restarted('container/web');
  now += 19_000;
  assert.equal(guard.suppressed().size, 1, 'the second pause is twice as long');
  for (let i = 0; i < 4; i++) guard.restarted('container/web');
  now += 25_001;
  assert.equal(guard.suppressed().size, 0, 'the pause is capped');
});

test('trigger queue: a retry outranks a drift check, a manual sync outranks a retry', async () => {
  const runs: Trigger[] = [];
  let release: () => void = () => undefined;
  const queue = new TriggerQueue(async (t) => {
    runs.push(t);
    if (runs.length === 1) await new Promise<void>((r) => (release = r));
  }, () => undefined);
  const first = queue.request('startup');
  const rest = [queue.request('drift-check'), queue.request('retry')];
  release();
  await Promise.all([first, ...rest]);
  assert.deepEqual(runs, ['startup', 'retry']);
});

test('retry policy: host failures wait for their time, commit failures for a new head or config, manual never waits', () => {
  const host: Rejection = { revision: 'r2', reason: 'image missing', cause: 'host', configKey: 'k', failures: 1, nextRetryAt: 1000 };
  const commit: Rejection = { revision: 'r2', reason: 'UNKNOWN_KEY', cause: 'commit', configKey: 'k' };
  assert.equal(decide(null, 'r2', 'poll', 'k', 0), 'apply');
  assert.equal(decide(host, 'r2', 'poll', 'k', 999), 'waiting');
  assert.equal(decide(host, 'r2', 'retry', 'k', 1000), 'apply');
  assert.equal(decide(host, 'r2', 'retry', 'k', 0), 'apply', "the daemon's retry timer is monotonic: due even when the wall clock was stepped back");
  assert.equal(decide(host, 'r3', 'poll', 'k', 0), 'apply', 'a new head is always tried');
  assert.equal(decide(host, 'r2', 'manual', 'k', 0), 'apply');
  assert.equal(decide(commit, 'r2', 'poll', 'k', Number.MAX_SAFE_INTEGER), 'refused');
  assert.equal(decide(commit, 'r2', 'poll', 'other-config', 0), 'apply');
  assert.equal(decide(commit, 'r2', 'manual', 'k', 0), 'apply');
  // A rejection written by an older agent (no cause): tried once more.
  assert.equal(decide({ revision: 'r2', reason: 'x' }, 'r2', 'poll', 'k', 0), 'apply');
});

test('shared durations: one parser for agent, hub and planner', () => {
  assert.equal(durationMs('1m30s'), 90_000);
  assert.equal(durationMs('500ms'), 500);
  assert.equal(durationMs(2.5), 2500, 'a number is seconds');
  assert.equal(durationSeconds('1h'), 3600);
  assert.equal(durationPattern.test('10s'), true);
  assert.equal(durationPattern.test('10 s'), false);
});

test('one URL redaction: tokens, passwords and query strings hidden; ssh and database users kept', () => {
  assert.equal(redactUrl('https://TOKEN@git.example.com/fleet.git'), 'https://***@git.example.com/fleet.git');
  assert.equal(redactUrl('ssh://git@git.example.com/fleet.git'), 'ssh://git@git.example.com/fleet.git');
  assert.equal(redactUrl('postgres://gitfleet:s3cret@db:5432/gitfleet?sslpassword=x', { keepUser: true }), 'postgres://gitfleet:***@db:5432/gitfleet?***');
  assert.equal(redactDatabaseUrl('postgres://gitfleet:s3cret@db/gitfleet'), 'postgres://gitfleet:***@db/gitfleet');
  assert.equal(redactDatabaseUrl('not a url s3cret'), '(an unparsable database URL)');
});
