// A "variable bomb" (b: ${a}${a}, c: ${b}${b}, … 40 levels, 2^40 characters if
// built) is refused fast, in little memory, with the variable's file:line —
// by the loader an agent uses and by `gitfleet validate` as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { loadDesiredState } from '../../repo/tree/index.ts';
import { brief, issuesOf, makeTree } from './repo-fixture.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const levels = 40;

/** vars v0…v40, v(i) = ${v(i-1)}${v(i-1)}: v20 is exactly 1 MiB, v21 the first over it. */
function chain(): string {
  const lines = ['vars:', '  v0: x'];
  for (let i = 1; i <= levels; i++) lines.push(`  v${i}: "\${v${i - 1}}\${v${i - 1}}"`);
  return lines.join('\n') + '\n';
}

test(`a ${levels}-level doubling chain is refused at the first variable over 1 MiB, fast and in little memory`, async (t) => {
  const root = makeTree(t, {
    'base.yaml': chain(),
    'a/h1/host.yaml': '',
    'a/app.yaml': 'files:\n  /etc/app: {content: "${v40}"}\n',
  });
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 1);
  const started = performance.now();
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  const ms = performance.now() - started;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const grewMiB = (peak - rssBefore) / 2 ** 20;
  // Printed so a run shows the numbers (measured: ~10 ms, a few MiB).
  t.diagnostic(`refused a ${levels}-level chain in ${ms.toFixed(1)} ms; RSS grew ${grewMiB.toFixed(1)} MiB`);
  // v21 is on line 23 (vars: is line 1, v0 line 2); one issue for the chain, none for v22…v40 or the file using v40.
  assert.deepEqual(brief(issues), ['base.yaml:23:3 EXPANSION_TOO_LARGE']);
  assert.match(issues[0]!.message, /in variable "v21": substituting \$\{v20\} makes the value longer than 1 MiB/);
  assert.ok(ms < 2000, `took ${ms} ms`);
  assert.ok(grewMiB < 64, `RSS grew ${grewMiB} MiB`);
});

test('one resource value over 1 MiB is refused at its own line', async (t) => {
  const root = makeTree(t, {
    'base.yaml': chain().split('\n').slice(0, 22).join('\n') + '\n', // v0…v20
    'a/h1/host.yaml': '',
    'a/app.yaml': 'files:\n  /etc/app:\n    content: "${v20}!"\n',
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), ['a/app.yaml:3:14 EXPANSION_TOO_LARGE']);
  assert.match(issues[0]!.message, /file "\/etc\/app": substituting \$\{v20\} makes the value longer than 1 MiB/);
});

test('many values each under 1 MiB are refused once over 16 MiB for the host', async (t) => {
  const files = Array.from({ length: 20 }, (_, i) => `  /etc/f${i}: {content: "\${v20}"}`).join('\n');
  const root = makeTree(t, {
    'base.yaml': chain().split('\n').slice(0, 22).join('\n') + '\n',
    'a/h1/host.yaml': '',
    'a/app.yaml': `files:\n${files}\n`,
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.equal(issues.length, 1, JSON.stringify(issues));
  assert.equal(issues[0]!.code, 'EXPANSION_TOO_LARGE');
  assert.match(issues[0]!.message, /over 16 MiB \(16,777,216 characters\) in total/);
});

test('gitfleet validate on a bomb exits 1 naming the variable and its file:line', async (t) => {
  const root = makeTree(t, { 'base.yaml': chain(), 'a/h1/host.yaml': '', 'a/h2/host.yaml': '' });
  const started = performance.now();
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(process.execPath, ['--import', 'tsx', resolve(repoRoot, 'cli/main.ts'), 'validate', root], (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
  t.diagnostic(`gitfleet validate (a process, 2 hosts) answered in ${(performance.now() - started).toFixed(0)} ms`);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^base\.yaml:23:3 {2}EXPANSION_TOO_LARGE {2}in variable "v21": substituting \$\{v20\} makes the value longer than 1 MiB \(1,048,576 characters\).* \(for host h1, host h2\)$/m);
});
