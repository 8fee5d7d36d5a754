// A sender that lost the leadership writes nothing more: the state it had not
// written yet is dropped, so it cannot put an older picture over the one the
// new leader started from; a sender that closes writes what it has.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { NotifyState } from '../../hub/notify/notify-state.ts';
import { SqliteFleetStore } from '../../hub/store/sqlite-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'gitfleet-notify-handover-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('discard drops what is not written yet; flush writes it', async () => {
  const store = new SqliteFleetStore(join(dir, 'hub.sqlite'));
  try {
    const old = new NotifyState(store, pino({ level: 'silent' }));
    const next = new NotifyState(store, pino({ level: 'silent' }));
    old.mark('group/a', () => 'old picture');
    await old.flush();
    // The new leader starts from the stored state and moves on; the old one still holds a change it never wrote.
    next.mark('group/a', () => 'new picture');
    await next.flush();
    old.mark('group/a', () => 'older change');
    old.discard();
    await old.flush();
    assert.equal((await next.load()).get('group/a'), 'new picture');
    // Closing (not losing the lead) writes what is pending.
    next.mark('group/a', () => 'at close');
    await next.flush();
    assert.equal((await next.load()).get('group/a'), 'at close');
  } finally {
    await store.close();
  }
});
