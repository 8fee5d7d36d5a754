// An idle agent saves its inventory after every pass (every 30 s by default):
// a save of what the file already holds writes nothing, so an idle pass spends
// no fsyncs on it (issue 18, footprint). A changed inventory, a status, and a
// write that failed before are still written. A status is rewritten when it is
// news, or when the one in status.json is STATUS_REFRESH_MS old — not after
// every idle pass, whose only changes are its times and trigger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyInventory, type Inventory } from '../../agent/engine/model.ts';
import { StateStore } from '../../agent/state/state-store.ts';
import { StatusRecorder } from '../../agent/state/status-recorder.ts';
import { STATUS_REFRESH_MS } from '../../agent/state/status-news.ts';
import type { HostStatus } from '../../shared/status.ts';

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

test('status.json is rewritten when the status is news or due for a refresh, not after a pass that only moved its times', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gf-state-unchanged-'));
  try {
    let monotonic = 0;
    let wall = Date.parse('2026-01-01T00:00:00.000Z');
    const store = new StateStore(dir, { monotonicMs: () => monotonic });
    const recorder = new StatusRecorder({ host: 'web-01', place: '', tags: [] }, null, () => new Date(wall));
    const idlePass = (trigger: string): HostStatus => {
      wall += 30_000;
      monotonic += 30_000;
      recorder.setCondition('Reconciling', { status: true, reason: 'Progressing', message: `reconcile triggered by ${trigger}` });
      recorder.setCondition('Reconciling', { status: false, reason: 'Idle', message: `last reconcile triggered by ${trigger}` });
      return recorder.snapshot;
    };
    const file = join(dir, 'status.json');
    const inode = () => statSync(file, { bigint: true }).ino;
    const written = () => JSON.parse(readFileSync(file, 'utf8')) as HostStatus;

    await store.saveStatus(idlePass('poll'));
    const first = inode();
    const firstUpdatedAt = written().updatedAt;
    for (const trigger of ['drift-check', 'poll', 'drift-check']) await store.saveStatus(idlePass(trigger));
    assert.equal(inode(), first, 'idle passes (only updatedAt and the Reconciling time and trigger moved) rewrote status.json');
    assert.equal(written().updatedAt, firstUpdatedAt);

    // News: the applied revision changed.
    recorder.setRevisions({ lastApplied: 'r2', lastAttempted: 'r2' });
    await store.saveStatus(idlePass('poll'));
    assert.notEqual(inode(), first, 'a status with news was not written');
    assert.equal(written().lastAppliedRevision, 'r2');

    // No news, but the file is as old as the refresh interval: written again, with the new times.
    const afterNews = inode();
    monotonic += STATUS_REFRESH_MS - 30_000;
    const due = idlePass('drift-check');
    await store.saveStatus(due);
    assert.notEqual(inode(), afterNews, `a status ${STATUS_REFRESH_MS / 60_000} minutes old was not refreshed`);
    assert.equal(written().updatedAt, due.updatedAt);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
