// The daemon around the Reconciler, on the in-memory drivers with real
// timers: it retries a host failure by itself, reports a reconcile's start to
// the hub (coalesced), and stop() aborts a running health wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostStatus } from '../../shared/status.ts';
import { app, fixtureDaemon, reconcilerFixture } from '../helpers/reconciler-fixture.ts';

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const reconciling = (s: HostStatus) => s.conditions.find((c) => c.type === 'Reconciling')?.status === true;

test('daemon: a host failure during apply is retried by the daemon itself and ends converged', async () => {
  const f = reconcilerFixture({ retryBaseMs: 150, realClock: true });
  const { daemon, outcomes } = fixtureDaemon(f);
  try {
    f.write(app('local/app:1'));
    await daemon.start();
    f.write(app('local/app:2'));
    await daemon.trigger('poll');
    assert.equal(outcomes.at(-1)?.outcome.result, 'RolledBack');
    assert.ok(f.recorder.snapshot.nextRetryAt, 'a retry is scheduled');
    f.drivers.containers.addImage('local/app:2');
    await until('the retry to apply the head', () => outcomes.some((o) => o.trigger === 'retry' && o.outcome.result === 'Succeeded'));
    assert.equal((await f.drivers.containers.list())[0]?.image, 'local/app:2');
    assert.equal(f.recorder.snapshot.nextRetryAt, null);
    const retries = outcomes.filter((o) => o.trigger === 'retry').length;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(outcomes.filter((o) => o.trigger === 'retry').length, retries, 'no retry once converged');
  } finally {
    await daemon.stop();
    f.dispose();
  }
});

test('daemon: a long reconcile is reported while it runs; short ones and a burst are not (coalesced)', async () => {
  const f = reconcilerFixture({ healthTimeoutMs: 10_000, realClock: true });
  // 1.5 s: a short pass must stay under it even on a loaded machine (400 ms did not, once).
  const { daemon, reports } = fixtureDaemon(f, { startReport: { delayMs: 1500, minGapMs: 60_000 } });
  try {
    f.write(app('local/app:1'));
    await daemon.start();
    assert.equal(daemon.startReports, 0, 'a reconcile that finishes quickly sends no start report');
    assert.ok(reports.length >= 1 && reports.every((s) => !reconciling(s)));

    // A storm of short reconciles: one report each at the end, none at the start.
    for (let i = 0; i < 20; i++) await daemon.trigger('drift-check');
    assert.equal(daemon.startReports, 0);

    // A new revision that waits for health: the hub hears "Reconciling" while it waits.
    f.write(app('local/app:1', { healthcheck: { test: ['CMD', 'true'], interval: '1s' } }));
    const slow = daemon.trigger('poll');
    await until('a Reconciling report', () => reports.some(reconciling));
    f.drivers.containers.setHealth('web', 'healthy');
    await slow;
    assert.equal(daemon.startReports, 1);
    assert.equal(reconciling(reports.at(-1)!), false, 'and the end of it after');

    // A second long reconcile within the gap is not reported again.
    f.write(app('local/app:1', { healthcheck: { test: ['CMD', 'true'], interval: '2s' } }));
    const again = daemon.trigger('poll');
    await new Promise((r) => setTimeout(r, 1800)); // past delayMs: it would be reported but for minGapMs
    f.drivers.containers.setHealth('web', 'healthy');
    await again;
    assert.equal(daemon.startReports, 1, 'at most one start report per minGapMs');
  } finally {
    await daemon.stop();
    f.dispose();
  }
});

test('daemon: stop() aborts a reconcile waiting for health, promptly', async () => {
  const f = reconcilerFixture({ healthTimeoutMs: 60_000, realClock: true });
  const { daemon, outcomes } = fixtureDaemon(f);
  try {
    f.write(app('local/app:1'));
    await daemon.start();
    f.write(app('local/app:1', { healthcheck: { test: ['CMD', 'true'], interval: '1s' } }));
    void daemon.trigger('poll');
    await until('the health wait', () => reconciling(f.recorder.snapshot) && f.drivers.containers.createBody('web').Healthcheck !== undefined);
    const started = Date.now();
    await daemon.stop();
    // Promptly, not at the 60 s health timeout (the bound leaves a loaded machine room).
    assert.ok(Date.now() - started < 10_000, `stop took ${Date.now() - started} ms`);
    assert.equal(outcomes.at(-1)?.outcome.reason, 'Aborted');
    assert.equal(f.recorder.snapshot.conditions.find((c) => c.type === 'Reconciling')?.reason, 'Aborted');
  } finally {
    await daemon.stop();
    f.dispose();
  }
});
