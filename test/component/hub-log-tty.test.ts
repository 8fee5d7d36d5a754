// Issue 21, item 5 (logs human-readable on a terminal, JSON otherwise), for
// the hub: `gitfleet hub` on a real pseudo-terminal (util-linux `script`)
// prints `12:00:01 INFO  hub listening …` lines, no JSON; piped, the same
// command prints one JSON object a line (journald, log shippers).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry, repoRoot } from '../helpers/gitfleet-cli.ts';
import { requireComponent } from '../harness/require.ts';
import { freePort, waitFor } from '../integration/hub-harness.ts';

const scratch = mkdtempSync(join(tmpdir(), 'gitfleet-hub-log-tty-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

async function runHub(tty: boolean, name: string): Promise<string> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GITFLEET_HUB_LISTEN: `127.0.0.1:${port}`,
    GITFLEET_HUB_DATA_DIR: join(scratch, name),
    GITFLEET_HUB_ADMIN_TOKEN: 'admin-token-0123456789abcdef',
  };
  const node = [process.execPath, '--import', import.meta.resolve('tsx'), cliEntry, 'hub'];
  // detached: its own process group, so the whole group (script, shell, hub) is stopped at the end.
  const child = tty
    ? spawn('script', ['-qec', node.map((a) => `'${a}'`).join(' '), '/dev/null'], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(node[0]!, node.slice(1), { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await waitFor('the hub to listen', () => /hub listening/.test(out), 30_000);
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
  return out;
}

test('gitfleet hub on a terminal: human-readable log lines, no JSON', async (t) => {
  if (!requireComponent(t, 'a pseudo-terminal (script from util-linux)', spawnSync('script', ['--version']).status === 0 ? null : 'script is not installed')) return;
  const out = await runHub(true, 'tty');
  assert.match(out, /^\d\d:\d\d:\d\d INFO {2}hub listening/m);
  assert.doesNotMatch(out, /\{"level":/);
});

test('gitfleet hub piped: JSON log lines', async () => {
  const out = await runHub(false, 'pipe');
  const line = out.split('\n').find((l) => l.includes('hub listening'))!;
  const entry = JSON.parse(line) as { level: number; service: string; msg: string };
  assert.equal(entry.level, 30);
  assert.equal(entry.service, 'gitfleet-hub');
});
