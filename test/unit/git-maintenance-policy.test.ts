// When the Git source repacks its clone: count-objects parsing and the bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needsGc, parseCountObjects } from '../../repo/git/maintenance.ts';

const sample = 'count: 12\nsize: 48\nin-pack: 3000\npacks: 17\nsize-pack: 1024\nprune-packable: 0\ngarbage: 0\nsize-garbage: 0\n';

test('count-objects -v: loose count, packs, and size in bytes (git prints KiB)', () => {
  assert.deepEqual(parseCountObjects(sample), { loose: 12, packs: 17, sizeBytes: (48 + 1024) * 1024 });
  assert.deepEqual(parseCountObjects(''), { loose: 0, packs: 0, sizeBytes: 0 });
});

test('gc past the pack or loose-object bound, not at it', () => {
  assert.equal(needsGc({ loose: 0, packs: 16, sizeBytes: 0 }, {}), false);
  assert.equal(needsGc({ loose: 0, packs: 17, sizeBytes: 0 }, {}), true);
  assert.equal(needsGc({ loose: 1000, packs: 1, sizeBytes: 0 }, {}), false);
  assert.equal(needsGc({ loose: 1001, packs: 1, sizeBytes: 0 }, {}), true);
  assert.equal(needsGc({ loose: 0, packs: 5, sizeBytes: 0 }, { maxPacks: 4 }), true);
});
