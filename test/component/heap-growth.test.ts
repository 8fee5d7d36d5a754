// A replica bounds V8's heap growth between full collections (hub/cluster/heap-growth.ts), unless node was
// started with its own --heap-growing-percent; and the bound really keeps a fast-allocating process smaller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { REPLICA_HEAP_GROWING_PERCENT, boundHeapGrowth } from '../../hub/cluster/heap-growth.ts';

const root = resolve(import.meta.dirname, '../..');

test('an operator\'s own --heap-growing-percent is left as it is', () => {
  assert.equal(boundHeapGrowth(50, ['--heap-growing-percent=80']), null);
  assert.equal(boundHeapGrowth(50, ['--heap_growing_percent=80']), null);
  assert.equal(boundHeapGrowth(REPLICA_HEAP_GROWING_PERCENT, ['--max-old-space-size=4096']), REPLICA_HEAP_GROWING_PERCENT);
});

/** Peak heap (MiB) of a child that keeps about 130 MiB live and allocates garbage fast, as a loaded replica does. */
function peakHeapMiB(bound: boolean): number {
  const script = `
    ${bound ? `const { boundHeapGrowth } = await import(${JSON.stringify(resolve(root, 'hub/cluster/heap-growth.ts'))}); boundHeapGrowth();` : ''}
    const live = [];
    for (let i = 0; i < 300_000; i++) live.push({ id: 'h' + i, s: 'x'.repeat(400) + i });
    // Garbage that lives a while first (statuses waiting in queues): promoted to the old generation, then dropped.
    const waiting = new Array(100_000);
    let peak = 0;
    for (let r = 0; r < 3_000_000; r++) {
      waiting[r % waiting.length] = { a: 'y'.repeat(100) + r, b: [r, r, { c: r }] };
      if (r % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    console.log(Math.round(peak / 1048576), waiting.length);`;
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim().split(' ')[0]);
}

test('bounded, a process allocating fast keeps a smaller heap than with V8\'s own growth', (t) => {
  const unbounded = peakHeapMiB(false);
  const bounded = peakHeapMiB(true);
  t.diagnostic(`peak heap ${bounded} MiB bounded, ${unbounded} MiB unbounded`);
  assert.ok(bounded < unbounded * 0.85, `peak heap ${bounded} MiB bounded against ${unbounded} MiB unbounded`);
});
