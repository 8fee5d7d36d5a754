// The agent's release gate (agent/rollout): what a host under a staged
// rollout may apply, kept across restarts, and what it does while the hub is
// away (hold, or proceed after rollout.proceedAfter); and the gated source
// that serves the released revision instead of the head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ReleaseGate } from '../../agent/rollout/release-gate.ts';
import { GatedSource } from '../../agent/rollout/gated-source.ts';
import type { DesiredSource, Snapshot } from '../../agent/source/desired-source.ts';
import { isGitfleetError } from '../../shared/errors.ts';
import { parseHubMessage } from '../../shared/protocol.ts';

const logger = pino({ level: 'silent' });
const HEAD = 'c'.repeat(40);
const RELEASED = 'b'.repeat(40);
const APPLIED = 'a'.repeat(40);

function gate(t: { after(fn: () => void): void }, o: { whenHubUnreachable?: 'hold' | 'proceed'; clock?: { now: number } } = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), 'gitfleet-gate-'));
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const clock = o.clock ?? { now: 0 };
  const make = () => new ReleaseGate({ stateDir, whenHubUnreachable: o.whenHubUnreachable ?? 'hold', proceedAfterMs: 60_000, logger, now: () => clock.now });
  return { make, clock };
}

/** A source whose head is HEAD and that has every revision fetched (it records what was asked). */
function source(): DesiredSource & { asked: string[] } {
  const snap = (revision: string): Snapshot => ({ revision, treeDir: `/tmp/${revision}` }) as Snapshot;
  const asked: string[] = [];
  return {
    description: 'test',
    asked,
    sync: (o) => {
      asked.push(`sync ${o.revision ?? 'head'}`);
      return Promise.resolve(snap(o.revision ?? HEAD));
    },
    snapshot: (revision) => {
      asked.push(`snapshot ${revision}`);
      return Promise.resolve(snap(revision));
    },
    prune: () => Promise.resolve(),
  };
}

test('the release message parses; a revision must be a full commit id', () => {
  assert.deepEqual(parseHubMessage(JSON.stringify({ type: 'release', underPolicy: true, revision: RELEASED, rollout: 'bbbbbbbbbbbb' })), { type: 'release', underPolicy: true, revision: RELEASED, rollout: 'bbbbbbbbbbbb' });
  assert.throws(() => parseHubMessage(JSON.stringify({ type: 'release', underPolicy: true, revision: 'main' })), (e: unknown) => isGitfleetError(e, 'PROTOCOL_INVALID'));
});

test('no release yet, or not under a policy: the head, as without a hub', async (t) => {
  const { make } = gate(t);
  const g = make();
  await g.load();
  const s = new GatedSource(source(), g);
  assert.equal((await s.sync({ lastApplied: APPLIED })).revision, HEAD);
  await g.update({ type: 'release', underPolicy: false, revision: null });
  assert.equal((await s.sync({ lastApplied: APPLIED })).revision, HEAD);
});

test('under a policy the released revision, never the head; kept across a restart; nothing released and nothing applied is ROLLOUT_HELD', async (t) => {
  const { make } = gate(t);
  const g = make();
  assert.equal(await g.update({ type: 'release', underPolicy: true, revision: RELEASED, rollout: 'r1' }), true);
  assert.equal(await g.update({ type: 'release', underPolicy: true, revision: RELEASED, rollout: 'r1' }), false, 'the same release changes nothing');
  const inner = source();
  assert.equal((await new GatedSource(inner, g).sync({ lastApplied: APPLIED })).revision, RELEASED);
  assert.deepEqual(inner.asked, [`snapshot ${RELEASED}`], 'taken from the clone, the head never synced');
  const restarted = make();
  await restarted.load();
  assert.equal((await new GatedSource(source(), restarted).sync({ lastApplied: APPLIED })).revision, RELEASED);
  await restarted.update({ type: 'release', underPolicy: true, revision: null });
  assert.equal((await new GatedSource(source(), restarted).sync({ lastApplied: APPLIED })).revision, APPLIED, 'nothing released: hold what runs');
  await assert.rejects(new GatedSource(source(), restarted).sync({ lastApplied: null }), (e: unknown) => isGitfleetError(e, 'ROLLOUT_HELD'));
});

test('a released revision not in the clone is fetched by its id', async (t) => {
  const { make } = gate(t);
  const g = make();
  await g.update({ type: 'release', underPolicy: true, revision: RELEASED });
  const inner = source();
  inner.snapshot = (revision) => {
    inner.asked.push(`snapshot ${revision}`);
    return Promise.reject(new Error('not fetched'));
  };
  assert.equal((await new GatedSource(inner, g).sync({ lastApplied: APPLIED })).revision, RELEASED);
  assert.deepEqual(inner.asked, [`snapshot ${RELEASED}`, `sync ${RELEASED}`]);
});

test('hub unreachable: hold keeps the release; proceed follows the head after proceedAfter, and the release again once the hub is back', async (t) => {
  const hold = gate(t);
  const h = hold.make();
  await h.update({ type: 'release', underPolicy: true, revision: RELEASED });
  h.hubConnected(false);
  hold.clock.now = 10 * 60_000;
  assert.deepEqual(h.decision(), { follow: 'release', revision: RELEASED, rollout: null });
  assert.equal(h.proceedDueAt(), null);

  const go = gate(t, { whenHubUnreachable: 'proceed' });
  const p = go.make();
  p.hubConnected(true);
  await p.update({ type: 'release', underPolicy: true, revision: RELEASED });
  go.clock.now = 1000;
  p.hubConnected(false);
  assert.equal(p.proceedDueAt(), 61_000);
  go.clock.now = 60_999;
  assert.equal(p.decision().follow, 'release');
  go.clock.now = 61_000;
  assert.deepEqual(p.decision(), { follow: 'head' });
  p.hubConnected(true);
  assert.equal(p.decision().follow, 'release');
});
