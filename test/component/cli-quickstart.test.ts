// Issue 21, item 6: the README's quickstart works exactly as printed — every
// line of its code block run by a shell in order (`npx gitfleet` is the
// sources here, so the test does not depend on a stale bundle), with the
// exit codes and output the README promises; and as a user who is not root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { cliEntry, repoRoot } from '../helpers/gitfleet-cli.ts';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const section = readme.split('## Quickstart')[1]!;
const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
const lines = block.trim().split('\n');
const sandbox = '/tmp/gitfleet-quickstart';
const gitfleet = `${process.execPath} --import ${import.meta.resolve('tsx')} ${cliEntry}`;

function runAll(uid?: number): Array<{ line: string; code: number | null; stdout: string; stderr: string }> {
  rmSync(sandbox, { recursive: true, force: true });
  return lines.map((line) => {
    const r = spawnSync('bash', ['-c', line.replaceAll('npx gitfleet', gitfleet)], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1', GITFLEET_DOCKER_SOCKET: '/nonexistent/docker.sock' },
      timeout: 60_000,
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    return { line, code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  });
}

function check(results: ReturnType<typeof runAll>): void {
  assert.deepEqual(
    results.map((r) => r.code),
    [0, 2, 0, 0, 0, 2, 0],
    results.map((r) => `$ ${r.line}\n${r.stdout}${r.stderr}`).join('\n'),
  );
  assert.match(results[1]!.stdout, /^Plan: 2 create, 0 change, 0 correct drift, 0 prune$/m);
  assert.match(results[3]!.stdout, /^trial-01 is managed by gitfleet \(tags: trial\)\.$/m);
  assert.match(results[5]!.stdout, /^Plan: 0 create, 0 change, 1 correct drift, 0 prune$/m);
  assert.equal(readFileSync(join(sandbox, 'motd'), 'utf8').split('\n')[0], 'trial-01 is managed by gitfleet (tags: trial).');
}

test('the README quickstart, line by line, as printed', () => {
  try {
    check(runAll());
  } finally {
    rmSync(sandbox, { recursive: true, force: true });
  }
});

test('the README quickstart as a user who is not root', (t) => {
  if (process.getuid?.() !== 0) return t.diagnostic('already not root: the test above covers it');
  try {
    check(runAll(65534));
  } finally {
    rmSync(sandbox, { recursive: true, force: true });
  }
  assert.equal(existsSync(sandbox), false);
});
