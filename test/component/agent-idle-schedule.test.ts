// How often an idle agent looks at its host (issue 18, footprint): every pass
// looks at it, so the drift check is due a drift interval after the last pass
// whatever triggered it, and a drift check with a poll close runs the poll
// instead. With the poll interval twice the drift interval (the defaults: 60 s
// and 30 s) that is one pass per drift interval — it was three passes for every
// two drift intervals — and the source is still polled every poll interval and
// the host still looked at every drift interval. Real timers, scaled down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Trigger } from '../../shared/status.ts';
import { containerLabels, MANAGED_BY } from '../../agent/drivers/types.ts';
import { app, fixtureDaemon, reconcilerFixture } from '../helpers/reconciler-fixture.ts';

const DRIFT_MS = 250;
const POLL_MS = 500;
const WINDOW_MS = 5_000;

test('poll every 2 drift intervals: one pass per drift interval, the source polled every poll interval, no gap over a drift interval', async () => {
  const f = reconcilerFixture({ realClock: true });
  const { daemon, outcomes: passes } = fixtureDaemon(f, { poll: POLL_MS, driftCheckMs: DRIFT_MS });
  try {
    f.write(app('local/app:1'));
    await daemon.start();
    const from = Date.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const seen = passes.filter((p) => p.at >= from);
    const polls = seen.filter((p) => p.trigger === 'poll').length;
    const drift = seen.filter((p) => p.trigger === 'drift-check').length;
    const intervals = WINDOW_MS / DRIFT_MS;
    // Before: a drift check every drift interval plus a poll every poll interval, 1.5 passes per drift interval.
    assert.ok(seen.length <= intervals * 1.15, `${seen.length} passes in ${intervals} drift intervals (${polls} polls, ${drift} drift checks)`);
    assert.ok(polls >= (WINDOW_MS / POLL_MS) * 0.85, `the source was polled ${polls} times in ${WINDOW_MS / POLL_MS} poll intervals`);
    const gaps = seen.slice(1).map((p, i) => p.at - seen[i]!.at);
    // A drift interval with its 5 % jitter, plus the pass itself and timer slack on a loaded machine.
    assert.ok(Math.max(...gaps) <= DRIFT_MS * 1.05 + 150, `the host went ${Math.max(...gaps)} ms without a look (drift interval ${DRIFT_MS} ms)`);
  } finally {
    await daemon.stop();
    f.dispose();
  }
});

test('a gitfleet container this host does not declare (another agent on a shared engine) is no reason to look at the host; its own is', async () => {
  const f = reconcilerFixture({ realClock: true });
  const { daemon, outcomes } = fixtureDaemon(f, { eventDebounceMs: 20 });
  const passes = (): Trigger[] => outcomes.map((o) => o.trigger);
  try {
    f.write(app('local/app:1'));
    await daemon.start();
    const containers = f.drivers.containers;
    const other = await containers.create('other-agents-web', { image: 'local/app:1' } as Parameters<typeof containers.create>[1], { [containerLabels.managedBy]: MANAGED_BY, [containerLabels.resource]: 'container/other-agents-web' });
    await containers.start(other);
    await new Promise((r) => setTimeout(r, 200));
    outcomes.length = 0;
    containers.exit('other-agents-web', 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(outcomes.length, 0, `passes for a container this host does not declare: ${passes().join(', ')}`);
    containers.exit('web', 1);
    const deadline = Date.now() + 5_000;
    while (!passes().includes('docker-event') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(passes().includes('docker-event'), 'its own container died and the host was not looked at');
    assert.equal((await containers.list()).find((c) => c.name === 'web')?.state, 'running', 'its own container was started again');
  } finally {
    await daemon.stop();
    f.dispose();
  }
});
