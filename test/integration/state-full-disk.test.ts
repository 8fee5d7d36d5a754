// The state directory on a real full filesystem (a small tmpfs mounted by the
// test): a save that does not fit leaves the previous files intact and no temp
// file, does not throw, is logged and reported once, and is written as soon as
// there is room again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Inventory } from '../../agent/engine/model.ts';
import { StateStore, type StateEvent } from '../../agent/state/state-store.ts';
import { requireComponent } from '../harness/require.ts';

function inventoryOf(n: number): Inventory {
  const resources: Inventory['resources'] = {};
  for (let i = 0; i < n; i++) resources[`container/app-${i}`] = { kind: 'container', name: `app-${i}`, hash: 'h'.repeat(32), revision: 'r'.repeat(40), appliedAt: '2026-01-01T00:00:00.000Z' };
  return { version: 1, resources };
}

/** Writes until the filesystem says ENOSPC. */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
}

test('a full state filesystem: the previous state survives, the write is retried once space frees', async (t) => {
  const missing = process.getuid?.() === 0 ? null : 'mounting a tmpfs needs root';
  if (!requireComponent(t, 'root (to mount a small tmpfs)', missing)) return;
  const dir = mkdtempSync(join(tmpdir(), 'gf-fullstate-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', dir]);
  try {
    const logs: { level: string; msg: string }[] = [];
    const events: StateEvent[] = [];
    const log = (level: string) => (_obj: object, msg: string) => void logs.push({ level, msg });
    const store = new StateStore(dir, { logger: { info: log('info'), warn: log('warn'), error: log('error') }, onEvent: (e) => events.push(e) });
    const small = inventoryOf(2);
    await store.saveInventory(small);
    await store.saveRevisions({ lastApplied: 'a'.repeat(40), lastAttempted: 'a'.repeat(40), rejected: null });
    const filler = join(dir, 'filler');
    fill(filler);

    const big = inventoryOf(200); // ~40 KB: cannot fit
    await store.saveInventory(big); // resolves: a full disk does not crash the agent
    await store.saveRevisions({ lastApplied: 'b'.repeat(40), lastAttempted: 'b'.repeat(40), rejected: null });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'inventory.json'), 'utf8')), small, 'the previous inventory is intact');
    assert.equal(JSON.parse(readFileSync(join(dir, 'revisions.json'), 'utf8')).lastApplied, 'a'.repeat(40));
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temp file holds on to space');
    assert.ok(store.pendingWrites.includes('inventory.json') && store.pendingWrites.includes('revisions.json'), store.pendingWrites.join(', '));
    assert.equal(logs.filter((l) => l.level === 'error').length, 1, 'logged once, not per attempt');
    assert.match(logs.find((l) => l.level === 'error')!.msg, /cannot write .*inventory\.json \(ENOSPC\): the previous file is kept and the write is retried/);
    assert.deepEqual(events.map((e) => e.reason), ['StateWriteFailed']);
    // A restart now would read the previous, consistent state.
    assert.deepEqual(await new StateStore(dir).loadInventory(), small);

    rmSync(filler);
    await store.saveStatus({ host: 'h1', place: 'h1', tags: [], conditions: [], lastAppliedRevision: null, lastAttemptedRevision: null, resources: [], attempts: [], updatedAt: new Date().toISOString() });
    assert.deepEqual(store.pendingWrites, [], 'the next save wrote everything pending');
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'inventory.json'), 'utf8')), big);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'inventory.json.bak'), 'utf8')), big);
    assert.equal(JSON.parse(readFileSync(join(dir, 'revisions.json'), 'utf8')).lastApplied, 'b'.repeat(40));
    assert.ok(logs.some((l) => l.level === 'info' && /state files written again/.test(l.msg)));
  } finally {
    execFileSync('umount', [dir]);
    rmdirSync(dir);
  }
});
