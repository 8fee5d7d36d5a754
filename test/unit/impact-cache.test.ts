// The hub's cache of head impacts (hub/git/impact-cache.ts) with a controlled
// computation: one at a time in head order, the first head has no base, a
// computation past the time limit fails, heads arriving faster than they can be
// computed skip the oldest waiting ones, prefixes must be unique, and what is
// kept is bounded by count and by affected hosts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ImpactCache, MAX_IMPACTS, MAX_KEPT_HOSTS } from '../../hub/git/impact-cache.ts';
import type { HostImpact, Impact } from '../../repo/impact/types.ts';

const logger = pino({ level: 'silent' });
const rev = (n: number) => n.toString(16).padStart(40, '0');

function impactWith(hosts: number): Impact {
  const list: HostImpact[] = Array.from({ length: hosts }, (_, i) => ({ host: `h${i}`, dir: `a/h${i}`, tags: ['a'], change: 'changed', resources: [] }));
  return { schema: 1, from: { revision: 'x', hosts }, to: { revision: 'y', hosts }, affected: hosts, total: hosts, groups: [], tags: [], perHost: [], resources: [], hosts: list };
}

async function settled(cache: ImpactCache, revs: string[]): Promise<void> {
  for (let i = 0; i < 200 && revs.some((r) => cache.get(r)?.status === 'computing'); i++) await new Promise((r) => setTimeout(r, 5));
}

test('one computation at a time, in the order the heads came; the first head has no base', async () => {
  const calls: string[] = [];
  let running = 0;
  let most = 0;
  const cache = new ImpactCache(async (from, to) => {
    running++;
    most = Math.max(most, running);
    calls.push(`${from.slice(-1)}→${to.slice(-1)}`);
    await new Promise((r) => setTimeout(r, 10));
    running--;
    return impactWith(1);
  }, logger);
  cache.headChanged(null, rev(1));
  cache.headChanged(rev(1), rev(2));
  cache.headChanged(rev(2), rev(3));
  assert.equal(cache.get(rev(1))?.status, 'no-base');
  assert.equal(cache.get(rev(2))?.status, 'computing');
  await settled(cache, [rev(2), rev(3)]);
  assert.deepEqual(calls, ['1→2', '2→3']);
  assert.equal(most, 1);
  assert.equal(cache.get(rev(3))?.status, 'ready');
  assert.equal(cache.get(rev(3))?.from, rev(2));
  assert.equal(typeof cache.get(rev(3))?.ms, 'number');
});

test('a failure and a computation past the time limit are reported as failed, with why', async () => {
  const cache = new ImpactCache(async (_from, to) => {
    if (to === rev(2)) throw new Error('the tree does not render at to 000000000002: a.yaml:1:1 …');
    return new Promise<Impact>(() => {}); // never answers
  }, logger, { timeoutMs: 50 });
  cache.headChanged(rev(1), rev(2));
  cache.headChanged(rev(2), rev(3));
  await settled(cache, [rev(2), rev(3)]);
  assert.equal(cache.get(rev(2))?.status, 'failed');
  assert.match(cache.get(rev(2))!.error!, /does not render/);
  assert.equal(cache.get(rev(3))?.status, 'failed');
  assert.match(cache.get(rev(3))!.error!, /took longer than 0 s; given up/);
});

test('heads that arrive faster than impacts are computed: the oldest waiting ones are skipped', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const cache = new ImpactCache(async () => {
    await gate;
    return impactWith(1);
  }, logger);
  for (let i = 1; i <= 7; i++) cache.headChanged(rev(i), rev(i + 1));
  // 2 runs; 3..8 wait, at most 4 of them: 3 and 4 are skipped.
  assert.equal(cache.get(rev(3))?.status, 'failed');
  assert.match(cache.get(rev(3))!.error!, /skipped/);
  assert.equal(cache.get(rev(5))?.status, 'computing');
  release();
  await settled(cache, [rev(2), rev(5), rev(6), rev(7), rev(8)]);
  assert.deepEqual([2, 5, 6, 7, 8].map((n) => cache.get(rev(n))?.status), ['ready', 'ready', 'ready', 'ready', 'ready']);
});

test('a prefix finds a head only when it is unique; no compute function means no impacts', () => {
  const cache = new ImpactCache(async () => impactWith(0), logger);
  cache.headChanged(null, 'abcdef1' + '0'.repeat(33));
  cache.headChanged(null, 'abcdef2' + '0'.repeat(33));
  assert.equal(cache.get('abcdef1')?.to, 'abcdef1' + '0'.repeat(33));
  assert.equal(cache.get('abcdef'), undefined);
  const none = new ImpactCache(null, logger);
  none.headChanged(rev(1), rev(2));
  assert.equal(none.get(rev(2)), undefined);
});

test('what is kept is bounded: the newest impacts by count, and by affected hosts', async () => {
  const cache = new ImpactCache(async () => impactWith(10), logger);
  for (let i = 1; i <= MAX_IMPACTS + 5; i++) {
    cache.headChanged(rev(i), rev(i + 1));
    await settled(cache, [rev(i + 1)]);
  }
  assert.equal(cache.list().length, MAX_IMPACTS);
  assert.equal(cache.get(rev(2)), undefined, 'the oldest went');
  assert.equal(cache.list()[0]?.to, rev(MAX_IMPACTS + 6), 'newest first');

  const big = new ImpactCache(async () => impactWith(MAX_KEPT_HOSTS / 2 + 1), logger);
  for (let i = 1; i <= 3; i++) {
    big.headChanged(rev(i), rev(i + 1));
    await settled(big, [rev(i + 1)]);
  }
  assert.deepEqual(big.list().map((e) => e.to), [rev(4)], 'two impacts of more than half the host budget do not fit together');
});
