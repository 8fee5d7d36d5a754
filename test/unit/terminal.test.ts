import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { isTerminal } from '../../repo/cli/terminal.ts';
import { monotonicMs } from '../../shared/monotonic.ts';

test('isTerminal: a file, /dev/null, a pipe and a closed descriptor are not terminals', () => {
  const file = openSync(import.meta.filename, 'r');
  const devNull = openSync('/dev/null', 'r');
  try {
    assert.equal(isTerminal(file), false);
    assert.equal(isTerminal(devNull), false);
  } finally {
    closeSync(file);
    closeSync(devNull);
  }
  assert.equal(isTerminal(987654), false);
  const script = `import { isTerminal } from ${JSON.stringify(new URL('../../repo/cli/terminal.ts', import.meta.url).href)};
process.stdout.write(JSON.stringify([isTerminal(1), isTerminal(2)]));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [false, false]);
});

// script(1) (util-linux) runs the command on a pseudo-terminal.
test('isTerminal says yes for a pseudo-terminal', () => {
  const script = `import { isTerminal } from ${JSON.stringify(new URL('../../repo/cli/terminal.ts', import.meta.url).href)}; process.stdout.write(String(isTerminal(1)));`;
  const command = `${process.execPath} --import tsx --input-type=module -e '${script.replace(/'/g, `'\\''`)}'`;
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', cwd: new URL('../..', import.meta.url).pathname });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /true/);
});

test('monotonicMs moves forward in milliseconds', async () => {
  const a = monotonicMs();
  await new Promise((r) => setTimeout(r, 20));
  const b = monotonicMs();
  assert.ok(b - a >= 15 && b - a < 2000, `${b - a} ms`);
});
