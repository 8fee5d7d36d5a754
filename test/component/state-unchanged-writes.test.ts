// An idle agent saves its inventory after every pass (every 30 s by default):
// a save of what the file already holds writes nothing, so an idle pass spends
// no fsyncs on it (issue 18, footprint). A changed inventory, a status, and a
// write that failed before are still written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyInventory, type Inventory } from '../../agent/engine/model.ts';
import { StateStore } from '../../agent/state/state-store.ts';

const inventoryWith = (revision: string): Inventory => ({
  ...emptyInventory(),
  resources: { 'file//etc/a.conf': { kind: 'file', name: '/etc/a.conf', hash: 'h1', revision, appliedAt: '2026-01-01T00:00:00.000Z' } },
});

test('saving an unchanged inventory rewrites neither the file nor its copy; a change is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gf-state-unchanged-'));
  try {
    const store = new StateStore(dir);
    await store.saveInventory(inventoryWith('r1'));
    const first = statSync(join(dir, 'inventory.json'), { bigint: true });
    const firstCopy = statSync(join(dir, 'inventory.json.bak'), { bigint: true });

    for (let i = 0; i < 3; i++) await store.saveInventory(inventoryWith('r1'));
    // Written files are replaced by rename: a rewrite would be a new inode.
    assert.equal(statSync(join(dir, 'inventory.json'), { bigint: true }).ino, first.ino, 'inventory.json was rewritten with the same content');
    assert.equal(statSync(join(dir, 'inventory.json.bak'), { bigint: true }).ino, firstCopy.ino, 'its copy was rewritten with the same content');

    await store.saveInventory(inventoryWith('r2'));
    assert.notEqual(statSync(join(dir, 'inventory.json'), { bigint: true }).ino, first.ino);
    assert.equal((JSON.parse(readFileSync(join(dir, 'inventory.json'), 'utf8')) as Inventory).resources['file//etc/a.conf']?.revision, 'r2');
    assert.equal((JSON.parse(readFileSync(join(dir, 'inventory.json.bak'), 'utf8')) as Inventory).resources['file//etc/a.conf']?.revision, 'r2');
    // A fresh store (an agent restart) trusts nothing it has not written itself.
    const again = new StateStore(dir);
    const before = statSync(join(dir, 'inventory.json'), { bigint: true }).ino;
    await again.saveInventory(inventoryWith('r2'));
    assert.notEqual(statSync(join(dir, 'inventory.json'), { bigint: true }).ino, before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a save that failed is retried with the same content once it can be written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gf-state-unchanged-'));
  try {
    const store = new StateStore(dir);
    await store.saveInventory(inventoryWith('r1'));
    // A directory in the file's place: the rename that publishes the new file fails (as root too).
    rmSync(join(dir, 'inventory.json'));
    mkdirSync(join(dir, 'inventory.json', 'blocker'), { recursive: true });
    await store.saveInventory(inventoryWith('r2'));
    assert.deepEqual(store.pendingWrites, ['inventory.json']);
    rmSync(join(dir, 'inventory.json'), { recursive: true });
    await store.saveInventory(inventoryWith('r2'));
    assert.deepEqual(store.pendingWrites, []);
    assert.equal((JSON.parse(readFileSync(join(dir, 'inventory.json'), 'utf8')) as Inventory).resources['file//etc/a.conf']?.revision, 'r2');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
