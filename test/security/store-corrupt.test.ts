// A damaged hub.sqlite ends the real `gitfleet hub` process with one line
// naming the file and what to do, exit 2, never a stack trace; a database
// another process holds locked at start does too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ADMIN, ENROLL, freePort, removeDir, root, tempDir, waitFor } from '../integration/hub-harness.ts';

async function runHub(dataDir: string): Promise<{ status: number | null; stderr: string }> {
  const port = await freePort();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'hub'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GITFLEET_HUB_LISTEN: `127.0.0.1:${port}`, GITFLEET_HUB_DATA_DIR: dataDir, GITFLEET_HUB_ENROLLMENT_TOKEN: ENROLL, GITFLEET_HUB_ADMIN_TOKEN: ADMIN },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr };
}

test('a damaged hub.sqlite: one line naming the file and what to do, exit 2', async () => {
  const dir = tempDir('store-corrupt');
  try {
    const file = join(dir, 'hub.sqlite');
    writeFileSync(file, 'this is not an SQLite database, it was overwritten by something else\n'.repeat(200));
    const r = await runHub(dir);
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^gitfleet: hub config: dataDir: cannot use the database ${file.replace(/[.]/g, '\\.')}: file is not a database; .*restore it from a backup or move it aside`));
    assert.ok(!/\bat .*\.ts:\d+/.test(r.stderr), 'no stack trace');
  } finally {
    removeDir(dir);
  }
});

test('a database another process holds locked at start: one line saying so, exit 2', async () => {
  const dir = tempDir('store-locked');
  try {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'hub.sqlite');
    // Not in WAL mode, and the locker holds an exclusive lock: the hub cannot even read the schema. The locker
    // holds it far longer than a loaded machine needs to start the hub (it is killed once the hub has exited).
    const script = `
      const Database = require('better-sqlite3');
      const db = new Database(${JSON.stringify(file)});
      db.exec('CREATE TABLE t (x)');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)');
      console.log('locked');
      setTimeout(() => process.exit(0), 120000);`;
    const locker = spawn(process.execPath, ['-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const said: string[] = [];
    createInterface({ input: locker.stdout }).on('line', (l) => said.push(l));
    await waitFor('the lock', () => said.includes('locked'));
    try {
      const r = await runHub(dir);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /cannot use the database .*hub\.sqlite: database is locked; another process holds its lock/);
    } finally {
      locker.kill();
    }
  } finally {
    removeDir(dir);
  }
});
