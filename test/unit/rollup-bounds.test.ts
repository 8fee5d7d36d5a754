// Roll-ups stay linear and cached under hostile tags: the tree matches a
// naive expansion, a host at every tag bound costs milliseconds, and the
// index recomputes only after a change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTagTree, withAncestors } from '../../hub/fleet/rollup.ts';
import type { TagNode, TagRollupInput } from '../../hub/fleet/rollup.ts';
import { FleetIndex } from '../../hub/fleet/fleet-index.ts';
import { TAG_LIMITS } from '../../shared/protocol.ts';
import type { HostStatus } from '../../shared/status.ts';

function naive(hosts: readonly TagRollupInput[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const h of hosts) for (const t of new Set(h.tags.flatMap(withAncestors))) totals.set(t, (totals.get(t) ?? 0) + 1);
  return totals;
}

function flatten(nodes: TagNode[], into = new Map<string, number>()): Map<string, number> {
  for (const n of nodes) {
    into.set(n.tag, n.total);
    flatten(n.children, into);
  }
  return into;
}

test('the tag tree counts every host once per node, as a naive expansion does', () => {
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const hosts: TagRollupInput[] = Array.from({ length: 300 }, () => ({
    tags: Array.from({ length: 1 + rand(5) }, () => Array.from({ length: 1 + rand(4) }, () => `t${rand(3)}`).join('/')),
    sync: 'InSync',
    connectivity: 'Online',
  }));
  assert.deepEqual(flatten(buildTagTree(hosts)), naive(hosts));
  assert.deepEqual(flatten(buildTagTree([{ tags: ['/a//b/'], sync: 'InSync', connectivity: 'Online' }])), new Map([['a', 1], ['a/b', 1]]));
});

test('a host at every tag bound costs milliseconds, not seconds', () => {
  // Nested tags: every one is an ancestor of the next, the worst case of the old cubic expansion.
  const segment = 'x'.repeat(Math.floor(TAG_LIMITS.length / TAG_LIMITS.depth) - 1);
  const tags = Array.from({ length: TAG_LIMITS.count }, (_, i) => Array.from({ length: TAG_LIMITS.depth }, (_, d) => (d === TAG_LIMITS.depth - 1 ? `${i}` : segment)).join('/'));
  const hosts = Array.from({ length: 100 }, () => ({ tags, sync: 'Drifted' as const, connectivity: 'Online' as const }));
  const started = performance.now();
  const tree = buildTagTree(hosts);
  const ms = performance.now() - started;
  console.log(`100 hosts × ${TAG_LIMITS.count} tags × depth ${TAG_LIMITS.depth}: tag tree in ${ms.toFixed(1)} ms`);
  assert.equal(tree[0]!.total, 100);
  assert.ok(ms < 500, `${ms} ms`);
});

test('the index caches its roll-ups until something changes', () => {
  const index = new FleetIndex(() => {}, { summaryMaxAgeMs: 0 });
  const status = (host: string, sync: 'InSync' | 'Drifted'): HostStatus => ({
    host, place: '', tags: [], conditions: [], lastAppliedRevision: null, lastAttemptedRevision: null, attempts: [], updatedAt: 'now',
    resources: [{ id: 'file/x', sync, health: 'Healthy', diff: [] }],
  });
  index.hello('a', { place: '', tags: ['prod/eu'], agentVersion: '1', seenAt: 'now' });
  index.status('a', status('a', 'InSync'));
  const first = index.summary();
  assert.equal(index.summary(), first, 'unchanged: the same object');
  assert.equal(index.tagTree(), index.tagTree());
  index.status('a', status('a', 'Drifted'));
  const second = index.summary();
  assert.notEqual(second, first);
  assert.deepEqual(second.tags.find((t) => t.tag === 'prod/eu'), { tag: 'prod/eu', total: 1, worst: 'Drifted' });
});

test('tags stored before the bounds existed are cut when the index loads them', () => {
  const deep = Array.from({ length: 500 }, () => 'a').join('/');
  const index = new FleetIndex();
  index.load([{ id: 'h', credentialHash: 'x', enrolledAt: null, place: '', tags: [deep, 'ok/tag', ...Array.from({ length: 300 }, (_, i) => `t${i}`)], agentVersion: null, facts: null, lastSeenAt: null, lastSeq: 0, droppedEvents: 0, status: null }]);
  const tags = index.get('h')!.tags;
  assert.ok(!tags.includes(deep));
  assert.ok(tags.includes('ok/tag'));
  assert.ok(tags.length <= TAG_LIMITS.count + 1, String(tags.length));
});
