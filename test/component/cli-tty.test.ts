// Issue 21, item 5: on a terminal (a real pseudo-terminal from util-linux
// `script`), `plan` prints colours and its log lines human-readable — no JSON
// mixed into what a person reads; piped, the same command prints no colours
// and JSON log lines on stderr, for machines.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry, gitfleet, repoRoot } from '../helpers/gitfleet-cli.ts';
import { requireComponent } from '../harness/require.ts';

const scratch = mkdtempSync(join(tmpdir(), 'gitfleet-cli-tty-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
// No policy file: the agent logs one warning, the log line under test. plan only reads.
const args = ['plan', '--repo', 'examples/quickstart', '--host', 'trial-01', '--state-dir', join(scratch, 'state'), '--files-allow', '/tmp/gitfleet-quickstart'];
const env = { ...process.env, GITFLEET_POLICY: join(scratch, 'no-policy.yaml'), NO_COLOR: undefined, GITFLEET_LOG_FORMAT: undefined };

test('on a terminal: colours, and the warning as a human line, not JSON', (t) => {
  if (!requireComponent(t, 'a pseudo-terminal (script from util-linux)', spawnSync('script', ['--version']).status === 0 ? null : 'script is not installed')) return;
  const command = [process.execPath, '--import', import.meta.resolve('tsx'), cliEntry, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: repoRoot, env, timeout: 60_000 });
  const out = r.stdout.toString();
  assert.equal(r.status, 2, out);
  assert.match(out, /\u001b\[1mplan for trial-01\u001b\[0m/);
  assert.match(out, /^\d\d:\d\d:\d\d WARN {2}policy: no host policy file/m);
  assert.doesNotMatch(out, /\{"level":/);
});

test('piped: no colours on stdout, JSON log lines on stderr', async () => {
  const r = await gitfleet(args, { env: { GITFLEET_POLICY: join(scratch, 'no-policy.yaml'), NO_COLOR: '' } });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /\u001b\[/);
  const warning = JSON.parse(r.stderr.split('\n').find((l) => l.includes('no host policy file'))!) as { level: number; component: string };
  assert.equal(warning.level, 40);
  assert.equal(warning.component, 'policy');
});
