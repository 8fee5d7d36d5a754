// The rollout state machine and its wave plan (hub/rollout): pure steps over a
// record with an explicit clock, so every transition is checked exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planWaves } from '../../hub/rollout/wave-plan.ts';
import { advance, applyAdminAction } from '../../hub/rollout/rollout-engine.ts';
import { releasedIn } from '../../hub/rollout/releases.ts';
import { progressOf } from '../../hub/rollout/host-progress.ts';
import type { HostProgress } from '../../hub/rollout/host-progress.ts';
import type { RolloutRecord } from '../../hub/rollout/rollout-record.ts';
import type { RolloutPolicy } from '../../repo/rollout/rollout-schema.ts';

const REV = 'a'.repeat(40);
const OLD = 'b'.repeat(40);

function policy(p: Partial<RolloutPolicy>): RolloutPolicy {
  return { waves: [{ percent: 100 }], soakMs: 0, failureBudget: 0, window: null, waveTimeoutMs: null, onHalt: 'hold', ...p };
}

function rollout(p: RolloutPolicy, waves: string[][], budget = 0): RolloutRecord {
  return {
    id: REV.slice(0, 12), revision: REV, subject: null, scope: '', policy: p, state: 'running', createdAt: 't', updatedAt: 't',
    waves: waves.map((hosts, i) => ({ name: `wave ${i + 1}`, hosts, openedAt: null, closedAt: null })),
    current: 0, soakUntil: null, baseline: Object.fromEntries(waves.flat().map((h) => [h, OLD])), failed: [], budget, haltReason: null, history: [],
  };
}

const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 10, 0, s));

test('waves: hosts and tags take their matches, percent a share of the rest rounded up, leftovers form the last wave', () => {
  const hosts = Array.from({ length: 10 }, (_, i) => ({ id: `h${i}`, tags: i < 3 ? ['prod', 'prod/eu'] : ['prod', 'prod/us'] }));
  const waves = planWaves({ waves: [{ hosts: ['h9'] }, { tags: ['prod/eu'] }, { percent: 50 }] }, hosts, REV);
  assert.deepEqual(waves.map((w) => w.name), ['wave 1', 'wave 2', 'wave 3', 'the rest']);
  assert.deepEqual(waves[0]!.hosts, ['h9']);
  assert.deepEqual(waves[1]!.hosts, ['h0', 'h1', 'h2']);
  assert.equal(waves[2]!.hosts.length, 3, '50% of the 6 left');
  assert.equal(waves[3]!.hosts.length, 3);
  assert.deepEqual(waves.flatMap((w) => w.hosts).sort(), hosts.map((h) => h.id).sort(), 'every host exactly once');
  // Same commit, same plan (a restarted hub); another commit, another spread.
  assert.deepEqual(planWaves({ waves: [{ percent: 30 }] }, hosts, REV), planWaves({ waves: [{ percent: 30 }] }, [...hosts].reverse(), REV));
});

test('a wave opens, closes when all are done, the soak holds the next one, the last one finishes the rollout', () => {
  const r = rollout(policy({ soakMs: 60_000 }), [['a'], ['b', 'c']]);
  const progress: Record<string, HostProgress> = { a: 'pending', b: 'pending', c: 'pending' };
  assert.equal(advance(r, (h) => progress[h]!, at(0)), true);
  assert.equal(r.waves[0]!.openedAt, at(0).toISOString());
  assert.equal(releasedIn(r, 'a'), REV);
  assert.equal(releasedIn(r, 'b'), OLD, 'not released before its wave');
  progress.a = 'done';
  advance(r, (h) => progress[h]!, at(5));
  assert.equal(r.current, 1);
  assert.equal(r.soakUntil, at(65).toISOString());
  assert.equal(advance(r, (h) => progress[h]!, at(64)), false, 'still soaking');
  advance(r, (h) => progress[h]!, at(65));
  assert.notEqual(r.waves[1]!.openedAt, null);
  progress.b = progress.c = 'done';
  advance(r, (h) => progress[h]!, at(70));
  assert.equal(r.state, 'done');
  assert.deepEqual(r.history.map((h) => h.action), ['opened', 'closed', 'opened', 'closed', 'done']);
});

test('failures over the budget halt; with onHalt rollback every host goes back to its baseline', () => {
  const r = rollout(policy({ onHalt: 'rollback' }), [['a', 'b', 'c'], ['d']], 1);
  const progress: Record<string, HostProgress> = { a: 'failed', b: 'applying', c: 'pending', d: 'pending' };
  advance(r, (h) => progress[h]!, at(0));
  assert.equal(r.state, 'running', 'one failure is within the budget of 1');
  progress.b = 'failed';
  advance(r, (h) => progress[h]!, at(1));
  assert.equal(r.state, 'halted');
  assert.match(r.haltReason!, /2 host\(s\) failed, over the failure budget of 1: a, b/);
  assert.equal(r.waves[1]!.openedAt, null, 'the next wave never opens');
  assert.equal(releasedIn(r, 'c'), OLD);
  assert.equal(advance(r, (h) => progress[h]!, at(2)), false, 'a halted rollout stays halted');
  // hold: the updated hosts keep the revision.
  const held = rollout(policy({ onHalt: 'hold' }), [['a', 'b']], 0);
  advance(held, () => 'failed', at(0));
  advance(held, () => 'failed', at(1));
  assert.equal(held.state, 'halted');
  assert.equal(releasedIn(held, 'a'), REV);
});

test('a wave timeout counts the stragglers failed and moves on when within budget', () => {
  const r = rollout(policy({ waveTimeoutMs: 30_000 }), [['a', 'b'], ['c']], 1);
  const progress: Record<string, HostProgress> = { a: 'done', b: 'pending', c: 'pending' };
  advance(r, (h) => progress[h]!, at(0));
  advance(r, (h) => progress[h]!, at(29));
  assert.equal(r.current, 0);
  advance(r, (h) => progress[h]!, at(30));
  assert.deepEqual(r.failed, ['b']);
  assert.equal(r.current, 1);
  assert.notEqual(r.waves[1]!.openedAt, null, 'no soak: the next wave opens at once');
});

test('the window holds a wave until it opens', () => {
  const r = rollout(policy({ window: { hours: '10:05-11:00' } }), [['a']]);
  assert.equal(advance(r, () => 'pending', at(0)), false);
  assert.equal(advance(r, () => 'pending', new Date(Date.UTC(2026, 10, 30, 10, 5))), true);
});

test('admin actions: pause, promote skips soak and window, resume a halted rollout, abort is final; each is recorded with who', () => {
  const r = rollout(policy({ soakMs: 3_600_000 }), [['a'], ['b'], ['c']]);
  const progress: Record<string, HostProgress> = { a: 'done', b: 'pending', c: 'pending' };
  advance(r, (h) => progress[h]!, at(0));
  assert.equal(r.current, 1, 'wave 1 done, soaking');
  assert.deepEqual(applyAdminAction(r, 'pause', 'admin', at(1)), { ok: true });
  assert.equal(advance(r, (h) => progress[h]!, at(2)), false);
  assert.deepEqual(applyAdminAction(r, 'promote', 'admin', at(3)), { ok: true });
  assert.notEqual(r.waves[1]!.openedAt, null, 'promoted past the soak while paused');
  assert.deepEqual(applyAdminAction(r, 'resume', 'admin', at(4)), { ok: true });
  progress.b = 'failed';
  advance(r, (h) => progress[h]!, at(5));
  assert.equal(r.state, 'halted');
  assert.equal(applyAdminAction(r, 'promote', 'admin', at(6)).ok, false, 'resume first');
  applyAdminAction(r, 'resume', 'admin', at(7));
  assert.equal(r.budget, 1, 'resuming accepts the failures so far');
  advance(r, (h) => progress[h]!, at(8));
  assert.equal(r.state, 'running');
  applyAdminAction(r, 'abort', 'admin', at(9));
  assert.equal(r.state, 'aborted');
  assert.equal(applyAdminAction(r, 'resume', 'admin', at(10)).ok, false);
  const byAdmin = r.history.filter((h) => h.by === 'admin').map((h) => `${h.action}@${h.at.slice(17, 19)}`);
  assert.deepEqual(byAdmin, ['pause@01', 'opened@03', 'promote@03', 'resume@04', 'resume@07', 'abort@09']);
});

test('host progress from what the agent reported', () => {
  const h = (applied: string | null, attempted: string | null, ready: boolean | null, reconciling = false) => ({ lastAppliedRevision: applied, lastAttemptedRevision: attempted, ready, reconciling });
  assert.equal(progressOf(null, REV), 'pending');
  assert.equal(progressOf(h(OLD, OLD, true), REV), 'pending');
  assert.equal(progressOf(h(OLD, REV, true, true), REV), 'applying');
  assert.equal(progressOf(h(OLD, REV, true), REV), 'failed', 'attempted, rolled back, no longer trying');
  assert.equal(progressOf(h(REV, REV, false), REV), 'applying', 'applied but not Ready yet');
  assert.equal(progressOf(h(REV, REV, true), REV), 'done');
});
