// The Reconciler on the in-memory drivers with an injected clock: which
// failures are retried and when, loud refusals, rollback, the empty-state
// guard and the conditions each exit leaves behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GitfleetError } from '../../shared/errors.ts';
import { ConditionReason, type HostStatus } from '../../shared/status.ts';
import { hostSync } from '../../hub/fleet/rollup.ts';
import { retryDelay } from '../../agent/loop/retry-policy.ts';
import { MINUTE, app, reconcilerFixture, type ReconcilerFixture } from '../helpers/reconciler-fixture.ts';

function condition(status: HostStatus, type: 'Ready' | 'Stalled' | 'Reconciling') {
  const c = status.conditions.find((x) => x.type === type);
  assert.ok(c, `no ${type} condition`);
  return c;
}

/** Every reason on every condition is one of the documented set. */
function assertReasonsClosed(status: HostStatus): void {
  for (const c of status.conditions) assert.ok(ConditionReason.safeParse(c.reason).success, `${c.type} reason "${c.reason}" is not in ConditionReason`);
}

async function withFixture(options: Parameters<typeof reconcilerFixture>[0], body: (f: ReconcilerFixture) => Promise<void>): Promise<void> {
  const f = reconcilerFixture(options);
  try {
    await body(f);
  } finally {
    f.dispose();
  }
}

test('retry delays: base, doubling, capped at 30 min, jitter only ever early (at most 20%)', () => {
  const o = { baseMs: MINUTE, maxMs: 30 * MINUTE, random: () => 0 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map((n) => retryDelay(n, o) / MINUTE), [1, 2, 4, 8, 16, 30, 30, 30]);
  assert.equal(retryDelay(1, { ...o, random: () => 1 }), 0.8 * MINUTE);
  for (let i = 0; i < 200; i++) {
    const d = retryDelay(3, { baseMs: MINUTE, maxMs: 30 * MINUTE });
    assert.ok(d >= 3.2 * MINUTE && d <= 4 * MINUTE, String(d));
  }
});

test('a host failure (image not loaded yet) is rolled back and retried at the backoff times until it succeeds', () =>
  withFixture({}, async (f) => {
    f.write(app('local/app:1'));
    const first = await f.reconciler.run('startup');
    assert.equal(first.result, 'Succeeded', first.message);
    const good = first.revision!;

    f.write(app('local/app:2'));
    const failed = await f.reconciler.run('poll');
    assert.equal(failed.result, 'RolledBack', failed.message);
    assert.equal(failed.converged, false);
    assert.equal(failed.revision, good);
    assert.match(failed.message ?? '', /local\/app:2/);
    assert.equal(failed.retryAt, f.clock.now + MINUTE, 'first retry after retryInterval');
    let status = f.recorder.snapshot;
    assert.equal(status.nextRetryAt, new Date(f.clock.now + MINUTE).toISOString(), 'the retry time is in the status');
    assert.equal(condition(status, 'Stalled').status, true);
    assert.equal(condition(status, 'Stalled').reason, 'ApplyFailed');
    assert.match(condition(status, 'Stalled').message, /rolled back to .*retry 2 at/);
    assert.equal(hostSync(status), 'Failed', 'the hub counts the host as failing');
    assert.deepEqual(status.attempts.slice(0, 2).map((a) => a.result), ['RolledBack', 'Failed']);
    assert.equal((await f.drivers.containers.list())[0]?.image, 'local/app:1', 'back on the last good image');

    // Before the retry is due, polls and drift checks do not try the head again.
    const attempts = status.attempts.length;
    f.clock.now += MINUTE - 1000;
    const waiting = await f.reconciler.run('poll');
    assert.equal(waiting.result, 'NoChange');
    assert.equal(waiting.converged, false, 'not at the head');
    assert.equal(waiting.retryAt, f.clock.now + 1000, 'the pending retry is still announced');
    assert.equal((await f.reconciler.run('drift-check')).retryAt, f.clock.now + 1000);
    assert.equal(f.recorder.snapshot.attempts.length, attempts, 'no attempt while waiting');

    // Due: retried; still failing, so the next retry is twice as far.
    f.clock.now += 1000;
    const second = await f.reconciler.run('retry');
    assert.equal(second.result, 'RolledBack');
    assert.equal(second.retryAt, f.clock.now + 2 * MINUTE);
    assert.equal(f.recorder.snapshot.attempts[1]?.trigger, 'retry');

    // The host is fixed (the image is loaded): the next retry applies it.
    f.drivers.containers.addImage('local/app:2');
    f.clock.now += 2 * MINUTE;
    const third = await f.reconciler.run('retry');
    assert.equal(third.result, 'Succeeded', third.message);
    assert.equal(third.converged, true);
    assert.equal(third.retryAt, undefined);
    status = f.recorder.snapshot;
    assert.equal(status.nextRetryAt, null);
    assert.equal(status.lastAppliedRevision, third.revision);
    assert.equal(condition(status, 'Stalled').status, false);
    assert.equal(condition(status, 'Ready').reason, 'Converged');
    assert.equal((await f.drivers.containers.list())[0]?.image, 'local/app:2');
    assertReasonsClosed(status);
  }));

test('a host failure is retried at once by a manual sync, whatever the backoff says', () =>
  withFixture({}, async (f) => {
    f.write(app('local/app:1'));
    await f.reconciler.run('startup');
    f.write(app('local/app:2'));
    assert.equal((await f.reconciler.run('poll')).result, 'RolledBack');
    f.drivers.containers.addImage('local/app:2');
    const manual = await f.reconciler.run('manual');
    assert.equal(manual.result, 'Succeeded', manual.message);
    assert.equal(f.recorder.snapshot.attempts[0]?.trigger, 'manual');
  }));

test('a failed first revision (nothing to roll back to) is enforced as far as it goes and retried until it counts as applied', () =>
  withFixture({}, async (f) => {
    f.write(app('local/app:2'));
    const first = await f.reconciler.run('startup');
    assert.equal(first.result, 'Failed');
    assert.equal(first.retryAt, f.clock.now + MINUTE);
    assert.equal(f.recorder.snapshot.lastAppliedRevision, null);
    assert.equal(f.recorder.snapshot.resources.find((r) => r.id === 'file//srv/app.conf')?.sync, 'InSync', 'what can converge does');
    f.drivers.containers.addImage('local/app:2');
    f.clock.now += MINUTE;
    const retried = await f.reconciler.run('retry');
    assert.equal(retried.result, 'Succeeded', retried.message);
    assert.equal(f.recorder.snapshot.lastAppliedRevision, retried.revision, 'applied and found healthy at last');
  }));

test('a commit failure (validation) is refused loudly and not retried until the head or the config changes', () =>
  withFixture({}, async (f) => {
    f.write(app('local/app:1'));
    const good = (await f.reconciler.run('startup')).revision!;
    f.writeRaw({ 'h1/host.yaml': '', 'h1/apps.yaml': 'containers:\n  web:\n    image: local/app:1\n    colour: red\n' });
    const refused = await f.reconciler.run('poll');
    assert.equal(refused.result, 'Refused');
    assert.equal(refused.converged, false, 'a refused head is never "converged"');
    assert.equal(refused.reason, 'UNKNOWN_KEY');
    assert.equal(refused.revision, good, 'the host stays on its last good revision');
    assert.equal(refused.retryAt, undefined, 'nothing to retry: the same commit fails the same way');
    const head = refused.refused?.revision;
    assert.ok(head && head !== good);
    let status = f.recorder.snapshot;
    assert.equal(condition(status, 'Stalled').status, true);
    assert.equal(condition(status, 'Stalled').reason, 'UNKNOWN_KEY');
    assert.equal(status.refused?.revision, head);
    assert.match(status.refused?.message ?? '', /colour/);
    assert.equal(status.nextRetryAt, null);
    assert.equal(hostSync(status), 'Failed');
    const attempts = status.attempts.length;

    // Hours later, polls still refuse it without evaluating again (no new attempt).
    f.clock.now += 5 * 60 * MINUTE;
    for (const trigger of ['poll', 'retry', 'startup'] as const) {
      const again = await f.reconciler.run(trigger);
      assert.equal(again.result, 'Refused', trigger);
      assert.equal(again.refused?.revision, head);
    }
    assert.equal(f.recorder.snapshot.attempts.length, attempts);

    // After a restart the refusal is remembered (state file), still without a new attempt.
    assert.equal((await f.restart().run('startup')).result, 'Refused');
    assert.equal(f.recorder.snapshot.attempts.length, attempts, JSON.stringify(f.recorder.snapshot.attempts[0]));

    // A new agent configuration re-evaluates the same head.
    assert.equal((await f.restart({ configKey: 'config-b' }).run('poll')).result, 'Refused');
    assert.equal(f.recorder.snapshot.attempts.length, attempts + 1, 'evaluated again under the new config');

    // A manual sync re-evaluates at once too.
    assert.equal((await f.reconciler.run('manual')).result, 'Refused');
    assert.equal(f.recorder.snapshot.attempts.length, attempts + 2);

    // A fixed head is applied and the refusal is gone.
    f.write(app('local/app:1', { env: { FIXED: '1' } }));
    const fixed = await f.reconciler.run('poll');
    assert.equal(fixed.result, 'Succeeded', fixed.message);
    status = f.recorder.snapshot;
    assert.equal(status.refused, null);
    assert.equal(condition(status, 'Stalled').status, false);
    assertReasonsClosed(status);
  }));

test('a head refused by the source (untrusted signature) is a refusal: Stalled GIT_UNTRUSTED, non-converged, the head named', () =>
  withFixture({}, async (f) => {
    f.write(app('local/app:1'));
    const good = (await f.reconciler.run('startup')).revision!;
    const head = 'c0ffee'.padEnd(40, '1');
    f.source.failure = new GitfleetError('GIT_UNTRUSTED', `refusing revision ${head}: the commit is not signed; the host stays on its last good revision`);
    const refused = await f.reconciler.run('poll');
    assert.equal(refused.result, 'Refused');
    assert.equal(refused.converged, false);
    assert.equal(refused.reason, 'GIT_UNTRUSTED');
    assert.equal(refused.revision, good);
    assert.equal(refused.refused?.revision, head);
    const status = f.recorder.snapshot;
    assert.equal(condition(status, 'Stalled').reason, 'GIT_UNTRUSTED');
    assert.equal(condition(status, 'Ready').status, true, 'the host itself is fine on its last good revision');
    assert.equal(hostSync(status), 'Failed', 'but the hub counts it as failing');
    assert.equal(status.refused?.revision, head);
    assert.match(status.refused?.message ?? '', /not signed/);
    assert.equal(status.attempts[0]?.result, 'Refused');
    assert.equal(status.attempts[0]?.revision, head);

    // Every poll checks again (the policy may change), but the same refusal is recorded once.
    const attempts = status.attempts.length;
    assert.equal((await f.reconciler.run('poll')).result, 'Refused');
    assert.equal(f.recorder.snapshot.attempts.length, attempts);
    // Drift is still corrected on the last good revision meanwhile.
    await f.drivers.containers.remove('web');
    const drift = await f.reconciler.run('drift-check');
    assert.equal(drift.result, 'Succeeded');
    assert.equal((await f.drivers.containers.list()).length, 1);

    // A signed head: applied, the refusal cleared.
    f.source.failure = null;
    f.write(app('local/app:1', { env: { SIGNED: '1' } }));
    const applied = await f.reconciler.run('poll');
    assert.equal(applied.result, 'Succeeded');
    assert.equal(f.recorder.snapshot.refused, null);
    assert.equal(condition(f.recorder.snapshot, 'Stalled').status, false);
  }));

test('a source outage is not a refusal: the host keeps enforcing, Stalled stays false with the cause', () =>
  withFixture({}, async (f) => {
    f.write(app('local/app:1'));
    await f.reconciler.run('startup');
    f.source.failure = new GitfleetError('GIT_UNREACHABLE', 'cannot reach git.example.test');
    const outcome = await f.reconciler.run('poll');
    assert.equal(outcome.result, 'NoChange');
    assert.equal(outcome.converged, true);
    const stalled = condition(f.recorder.snapshot, 'Stalled');
    assert.equal(stalled.status, false);
    assert.equal(stalled.reason, 'GIT_UNREACHABLE');
    assert.equal(f.recorder.snapshot.refused, null);
  }));

test('no good revision and a refused head: Refused, Ready false with NoRevision', () =>
  withFixture({}, async (f) => {
    f.writeRaw({ 'h1/host.yaml': 'bogus: 1\n' });
    const outcome = await f.reconciler.run('startup');
    assert.equal(outcome.result, 'Refused');
    assert.equal(outcome.revision, null);
    assert.equal(condition(f.recorder.snapshot, 'Ready').reason, 'NoRevision');
    assertReasonsClosed(f.recorder.snapshot);
  }));

test('empty-state guard: a revision that would remove everything is refused (a commit failure) until allowEmpty', () =>
  withFixture({}, async (f) => {
    f.write(app('local/app:1'));
    await f.reconciler.run('startup');
    f.write({});
    const refused = await f.reconciler.run('poll');
    assert.equal(refused.result, 'Refused');
    assert.equal(refused.reason, 'EMPTY_STATE_REFUSED');
    assert.equal(refused.converged, false);
    assert.equal((await f.drivers.containers.list()).length, 1, 'nothing removed');
    assert.equal(condition(f.recorder.snapshot, 'Stalled').reason, 'EMPTY_STATE_REFUSED');
    const attempts = f.recorder.snapshot.attempts.length;
    f.clock.now += 60 * MINUTE;
    assert.equal((await f.reconciler.run('poll')).result, 'Refused');
    assert.equal(f.recorder.snapshot.attempts.length, attempts, 'not retried');
    f.write({}, { allowEmpty: true });
    assert.equal((await f.reconciler.run('poll')).result, 'Succeeded');
    assert.equal((await f.drivers.containers.list()).length, 0);
  }));

test('a revision that never becomes healthy is rolled back: HealthCheckFailed, the old spec back', () =>
  withFixture({ healthTimeoutMs: 300 }, async (f) => {
    f.write(app('local/app:1'));
    await f.reconciler.run('startup');
    f.write(app('local/app:1', { healthcheck: { test: ['CMD', 'true'], interval: '1s' } }));
    const outcome = await f.reconciler.run('poll');
    assert.equal(outcome.result, 'RolledBack', outcome.message);
    assert.equal(outcome.reason, 'HealthCheckFailed');
    const body = f.drivers.containers.createBody('web');
    assert.equal(body.Healthcheck, undefined, 'the last good spec (no healthcheck) is back');
    assert.equal(condition(f.recorder.snapshot, 'Stalled').reason, 'HealthCheckFailed');
    assert.equal(condition(f.recorder.snapshot, 'Ready').status, true);
    const rollback = f.recorder.snapshot.attempts[0];
    assert.equal(rollback?.trigger, 'rollback');
    assert.equal(rollback?.result, 'RolledBack');
  }));

test('conditions: Reconciling is true while a reconcile runs and false after, with documented reasons', () =>
  withFixture({}, async (f) => {
    f.write(app('local/app:1'));
    const during: string[] = [];
    const watch = setInterval(() => {
      const c = f.recorder.snapshot.conditions.find((x) => x.type === 'Reconciling');
      if (c) during.push(`${String(c.status)}:${c.reason}`);
    }, 1);
    const running = f.reconciler.run('startup');
    // run() marks Reconciling before its first await.
    assert.equal(condition(f.recorder.snapshot, 'Reconciling').status, true);
    assert.equal(condition(f.recorder.snapshot, 'Reconciling').reason, 'Progressing');
    await running;
    clearInterval(watch);
    const status = f.recorder.snapshot;
    assert.equal(condition(status, 'Reconciling').status, false);
    assert.equal(condition(status, 'Reconciling').reason, 'Idle');
    assert.equal(condition(status, 'Ready').reason, 'Converged');
    assert.equal(condition(status, 'Stalled').reason, 'NoBlockingProblem');
    assert.ok(during.includes('true:Progressing'), during.join(','));
    assertReasonsClosed(status);
    // Persisted on every exit.
    assert.equal((await f.store.loadStatus())?.conditions.find((c) => c.type === 'Reconciling')?.status, false);
  }));

test('abort: a health wait ends at once; the head is not rejected and is tried again on the next start', () =>
  withFixture({ healthTimeoutMs: 30_000 }, async (f) => {
    f.write(app('local/app:1'));
    await f.reconciler.run('startup');
    f.write(app('local/app:1', { healthcheck: { test: ['CMD', 'true'], interval: '1s' } }));
    const controller = new AbortController();
    const started = Date.now();
    const running = f.reconciler.run('poll', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 100);
    const outcome = await running;
    // At once, not at the 30 s health timeout (the bound leaves a loaded machine room).
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    assert.equal(outcome.reason, 'Aborted');
    assert.equal(condition(f.recorder.snapshot, 'Reconciling').reason, 'Aborted');
    const revisions = await f.store.loadRevisions();
    assert.equal(revisions.rejected, null, 'an aborted apply is no verdict');
    // The next start tries the head again (and here, with the healthcheck passing, applies it).
    const next = f.restart();
    const retry = next.run('startup');
    // Healthy until the retry ends: if the aborted pass had not yet created the new container (a loaded machine),
    // the retry creates it, and a health set once before that would be on the container it replaced.
    const healthy = setInterval(() => {
      try {
        f.drivers.containers.setHealth('web', 'healthy');
      } catch {
        // Not created yet (the retry is removing the one it replaces): the next tick sets it.
      }
    }, 50);
    try {
      assert.equal((await retry).result, 'Succeeded');
    } finally {
      clearInterval(healthy);
    }
  }));
