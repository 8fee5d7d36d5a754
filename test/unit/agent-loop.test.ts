import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TriggerQueue } from '../../agent/loop/trigger-queue.ts';
import { jittered } from '../../agent/loop/schedule.ts';
import { FlapGuard } from '../../agent/engine/flap-guard.ts';
import type { Trigger } from '../../shared/status.ts';

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
