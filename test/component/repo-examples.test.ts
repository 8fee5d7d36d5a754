// examples/fleet is what a new user reads first and what the demo and the
// integration tests converge for real: it must validate, cover every
// feature, and use only what exists offline (local/busybox:1, demo paths).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { loadDesiredState, validateTree } from '../../repo/tree/index.ts';

const example = resolve(import.meta.dirname, '../../examples/fleet');

test('the example fleet validates and covers the features it is there to show', async () => {
  const summary = await validateTree(example);
  assert.deepEqual(summary.issues, []);
  assert.ok(summary.hosts.length >= 3);
  assert.ok(summary.hosts.some((h) => h.pathTags.length >= 2), 'two levels of tag directories');
  assert.ok(summary.hosts.some((h) => h.crossTags.length > 0), 'a cross-cutting tag');
  assert.ok(summary.places.length >= 1, 'a place-only group');

  const states = await Promise.all([
    ...summary.hosts.map((h) => loadDesiredState(example, { host: h.id })),
    ...summary.places.map((place) => loadDesiredState(example, { host: 'kiosk-1', place })),
  ]);
  const all = states.flatMap((s) => s.resources);
  for (const kind of ['container', 'unit', 'file'] as const) assert.ok(all.some((r) => r.kind === kind), `a ${kind}`);
  for (const r of all) {
    if (r.kind === 'container') {
      assert.equal(r.spec.image, 'local/busybox:1', r.id);
      assert.ok(['host', 'none'].includes(r.spec.network ?? 'none'), `${r.id}: network host or none`);
    }
    // A container's secrets: files live in the agent's reserved directory (docs/secrets.md).
    if (r.kind === 'file') assert.match(r.name, /^\/(etc\/gitfleet-demo|srv|var\/lib\/gitfleet\/secrets)\//, r.id);
    if (r.kind === 'unit') assert.match(r.name, /^gitfleet-demo-/, r.id);
  }
  assert.ok(all.some((r) => r.drift === 'report'), 'a layer default drift policy');
});
