// A damaged state directory never stops the agent: each state file truncated,
// emptied or garbled, with and without its copy; the inventory rebuilt from what
// the host marks as the agent's equals what the agent owned (in-memory drivers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { converge } from '../../agent/engine/converge.ts';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { emptyInventory, type Inventory } from '../../agent/engine/model.ts';
import { renderUnitFile, unitMarker } from '../../agent/engine/plan-units.ts';
import { StateStore, type StateEvent } from '../../agent/state/state-store.ts';
import { unitFilesIn, unitIdFromFirstLine, type HostMarks } from '../../agent/state/host-marks.ts';
import { container, desired, file, unit } from '../helpers/desired.ts';

const damage: Record<string, (good: string) => string> = {
  truncated: (good) => good.slice(0, Math.floor(good.length / 2)),
  empty: () => '',
  garbage: () => '\u0000\u0001\u00ff{{{not json',
  'wrong shape': () => JSON.stringify({ version: 1, resources: 'nope', lastApplied: 7 }),
};

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'gf-state-'));
}

function recorder() {
  const logs: { level: string; msg: string; obj: object }[] = [];
  const events: StateEvent[] = [];
  const logger = {
    info: (obj: object, msg: string) => void logs.push({ level: 'info', msg, obj }),
    warn: (obj: object, msg: string) => void logs.push({ level: 'warn', msg, obj }),
    error: (obj: object, msg: string) => void logs.push({ level: 'error', msg, obj }),
  };
  return { logs, events, logger, onEvent: (e: StateEvent) => void events.push(e) };
}

/** A host converged by the agent with the in-memory drivers, plus things that are not the agent's. */
async function convergedHost() {
  const d = { containers: new MemoryContainerDriver({ images: ['local/busybox:1'] }), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/srv'] }) };
  const state = desired([
    container('web', { labels: { team: 'a' } }),
    container('worker', { state: 'stopped' }),
    unit('app.service'),
    unit('tick.timer', { content: '[Timer]\nOnCalendar=hourly\n' }),
    file('/srv/app.conf'),
  ]);
  let saved: Inventory = emptyInventory();
  const result = await converge(d, state, emptyInventory(), { revision: 'a'.repeat(40), saveInventory: async (inv) => void (saved = structuredClone(inv)) });
  assert.equal(result.converged, true);
  // Not the agent's: a container someone ran, a unit file someone wrote, and one that claims another unit's marker.
  await d.containers.create('handmade', { image: 'local/busybox:1' }, { 'io.gitfleet.managed-by': 'someone-else' });
  await d.containers.create('impostor', { image: 'local/busybox:1' }, { 'io.gitfleet.managed-by': 'gitfleet', 'io.gitfleet.resource': 'container/web' });
  await d.units.write('foreign.service', '[Service]\nExecStart=/bin/true\n', {});
  await d.units.write('copied.service', unitMarker('unit/app.service') + '[Service]\nExecStart=/bin/true\n', {});
  const unitNames = ['app.service', 'tick.timer', 'foreign.service', 'copied.service'];
  const marks: HostMarks = {
    containers: () => d.containers.list(),
    // The memory driver has no directory to scan: its files, as a directory listing would show them.
    unitFiles: async () => (await d.units.observe(unitNames)).flatMap((u) => (u.content === null ? [] : [{ name: u.name, firstLine: u.content.split('\n')[0] ?? '' }])),
  };
  return { d, saved, marks };
}

const owned = (inv: Inventory) => Object.fromEntries(Object.entries(inv.resources).map(([id, e]) => [id, { kind: e.kind, name: e.name }]));

for (const [how, spoil] of Object.entries(damage)) {
  test(`inventory ${how}, copy lost: rebuilt from the host's marks — every container and unit the agent owned, nothing else`, async () => {
    const { saved, marks } = await convergedHost();
    const dir = tmp();
    try {
      const r = recorder();
      const store = new StateStore(dir, { logger: r.logger, onEvent: r.onEvent, hostMarks: marks });
      await store.saveInventory(saved);
      rmSync(join(dir, 'inventory.json.bak'));
      writeFileSync(join(dir, 'inventory.json'), spoil(readFileSync(join(dir, 'inventory.json'), 'utf8')));
      const recovered = await store.loadInventory();
      const expected = owned(saved);
      delete expected['file//srv/app.conf']; // files carry no mark on the host
      assert.deepEqual(owned(recovered), expected);
      assert.equal(recovered.resources['container/web']?.revision, 'a'.repeat(40), 'the revision label is kept');
      assert.equal(r.events.length, 1, 'one event');
      assert.equal(r.events[0]?.reason, 'StateRecovered');
      assert.match(r.events[0]!.message, /recovered 4 owned resource\(s\): no copy \(none\), 4 more marked on the host/);
      assert.equal(r.logs.filter((l) => l.level === 'warn').length, 1, 'logged once');
      assert.ok(existsSync(join(dir, 'inventory.json.corrupt')), 'the damaged file is kept aside');
      // Written back: the next start reads it without recovering again.
      const again = recorder();
      assert.deepEqual(owned(await new StateStore(dir, { logger: again.logger, onEvent: again.onEvent, hostMarks: marks }).loadInventory()), expected);
      assert.deepEqual(again.events, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('inventory unreadable, copy intact: the copy (files included) plus anything marked on the host it lacks', async () => {
  const { saved, marks } = await convergedHost();
  const dir = tmp();
  try {
    const r = recorder();
    const store = new StateStore(dir, { logger: r.logger, onEvent: r.onEvent, hostMarks: marks });
    const older: Inventory = structuredClone(saved);
    delete older.resources['unit/tick.timer'];
    await store.saveInventory(older);
    writeFileSync(join(dir, 'inventory.json'), '{"version":1,"reso');
    const recovered = await store.loadInventory();
    assert.deepEqual(owned(recovered), owned(saved));
    assert.equal(recovered.resources['file//srv/app.conf']?.hash, saved.resources['file//srv/app.conf']?.hash, 'entries of the copy keep their hash');
    assert.equal(recovered.resources['unit/tick.timer']?.hash, '', 'an entry from the host has no known spec');
    assert.match(r.events[0]!.message, /recovered 5 owned resource\(s\): 4 from inventory\.json\.bak, 1 more marked on the host/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('inventory lost while Docker is down: units still recovered, containers reported as unknown', async () => {
  const { d, saved, marks } = await convergedHost();
  d.containers.setAvailable(false);
  const dir = tmp();
  try {
    const r = recorder();
    writeFileSync(join(dir, 'inventory.json'), 'garbage');
    const recovered = await new StateStore(dir, { logger: r.logger, onEvent: r.onEvent, hostMarks: marks }).loadInventory();
    assert.deepEqual(Object.keys(recovered.resources).sort(), ['unit/app.service', 'unit/tick.timer']);
    assert.match(r.events[0]!.message, /could not read containers: .*never pruned, adopted again when declared/);
    assert.ok(Object.keys(saved.resources).length > 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a fresh state directory is not a loss: empty inventory, no event', async () => {
  const dir = tmp();
  try {
    const r = recorder();
    assert.deepEqual(await new StateStore(dir, { logger: r.logger, onEvent: r.onEvent, hostMarks: { containers: async () => assert.fail('not read') } }).loadInventory(), emptyInventory());
    assert.deepEqual(r.events, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [how, spoil] of Object.entries(damage)) {
  test(`revisions ${how}: taken from the copy; without a copy, none (the head is applied as a first revision)`, async () => {
    const dir = tmp();
    try {
      const r = recorder();
      const store = new StateStore(dir, { logger: r.logger, onEvent: r.onEvent });
      const revisions = { lastApplied: 'b'.repeat(40), lastAttempted: 'c'.repeat(40), rejected: { revision: 'c'.repeat(40), reason: 'unhealthy' } };
      await store.saveRevisions(revisions);
      const good = readFileSync(join(dir, 'revisions.json'), 'utf8');
      writeFileSync(join(dir, 'revisions.json'), spoil(good));
      assert.deepEqual(await store.loadRevisions(), revisions);
      assert.match(r.events[0]!.message, /recovered from revisions\.json\.bak \(last applied bbbbbbbbbbbb\)/);

      writeFileSync(join(dir, 'revisions.json'), spoil(good));
      writeFileSync(join(dir, 'revisions.json.bak'), spoil(good));
      assert.deepEqual(await store.loadRevisions(), { lastApplied: null, lastAttempted: null, rejected: null });
      assert.match(r.events[1]!.message, /no usable copy: no last good revision is known, so the head is applied as a first revision/);
      assert.equal(r.events.length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`status ${how}: a cache, started afresh with one warning`, async () => {
    const dir = tmp();
    try {
      const r = recorder();
      writeFileSync(join(dir, 'status.json'), spoil('{"host":"h1","conditions":[]}'));
      assert.equal(await new StateStore(dir, { logger: r.logger, onEvent: r.onEvent }).loadStatus(), null);
      assert.equal(r.logs.length, 1);
      assert.match(r.logs[0]!.msg, /status\.json is unreadable; starting with a fresh status/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('every save writes the file and then its copy; no temp file is left behind', async () => {
  const dir = tmp();
  try {
    const store = new StateStore(dir);
    const inv: Inventory = { version: 1, resources: { 'container/x': { kind: 'container', name: 'x', hash: 'h', revision: 'r', appliedAt: 't' } } };
    await store.saveInventory(inv);
    await store.saveRevisions({ lastApplied: null, lastAttempted: null, rejected: null });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'inventory.json.bak'), 'utf8')), inv);
    assert.ok(existsSync(join(dir, 'revisions.json.bak')));
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
    assert.deepEqual(store.pendingWrites, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unit files on disk: only regular files whose marker names themselves count', async () => {
  const dir = tmp();
  try {
    const units = join(dir, 'units');
    mkdirSync(units);
    writeFileSync(join(units, 'app.service'), renderUnitFile(unit('app.service')));
    writeFileSync(join(units, 'other.service'), '[Service]\nExecStart=/bin/true\n');
    writeFileSync(join(units, 'moved.service'), renderUnitFile(unit('app.service')));
    writeFileSync(join(units, 'big.service'), 'x'.repeat(1_000_000));
    symlinkSync('/dev/null', join(units, 'masked.service'));
    mkdirSync(join(units, 'app.service.d'));
    const files = await unitFilesIn(units)();
    const ids = files.map((f) => unitIdFromFirstLine(f.name, f.firstLine)).filter((id) => id !== null);
    assert.deepEqual(ids, ['unit/app.service']);
    assert.deepEqual(await unitFilesIn(join(dir, 'absent'))(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
