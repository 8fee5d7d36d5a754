// rollout.yaml in the fleet tree (docs/rollouts.md): its format with file:line
// errors, the nearest file applies to a host, wave references that select
// nothing are errors, a rollout.yaml where it applies to nothing is refused,
// and the file is never read as a resource layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateTree } from '../../repo/tree/index.ts';
import { parseRolloutText, readRolloutPolicies, scopeOf } from '../../repo/rollout/rollout-files.ts';
import { budgetCount, insideWindow } from '../../repo/rollout/rollout-schema.ts';
import { makeTree } from './repo-fixture.ts';

const host = '';

function short(issues: { file: string; line: number; column: number; code: string }[]): string[] {
  return issues.map((i) => `${i.file}:${i.line}:${i.column} ${i.code}`);
}

test('a full policy parses with its defaults and durations', () => {
  const { policy, issues } = parseRolloutText('rollout.yaml', [
    'waves:',
    '  - name: canary',
    '    hosts: [web-01]',
    '  - tags: [prod/eu]',
    '  - percent: 50',
    'soak: 10m',
    'failureBudget: "10%"',
    'window: { days: [mon, tue], hours: "08:00-17:00" }',
    'waveTimeout: 1h',
    'onHalt: rollback',
  ].join('\n'));
  assert.deepEqual(issues, []);
  assert.equal(policy!.soakMs, 600_000);
  assert.equal(policy!.waveTimeoutMs, 3_600_000);
  assert.equal(policy!.onHalt, 'rollback');
  assert.equal(budgetCount(policy!.failureBudget, 200), 20);
  assert.equal(policy!.waves.length, 3);
  const minimal = parseRolloutText('rollout.yaml', 'waves: [{ percent: 10 }]\n').policy!;
  assert.deepEqual({ soak: minimal.soakMs, budget: minimal.failureBudget, timeout: minimal.waveTimeoutMs, onHalt: minimal.onHalt, window: minimal.window }, { soak: 0, budget: 0, timeout: null, onHalt: 'hold', window: null });
});

test('format errors carry the line and column of the offending key or value', () => {
  const text = ['waves:', '  - percent: 150', '  - tags: [a]', '    hosts: [b]', 'soak: soon', 'onHalt: explode', 'failureBudget: -1', 'windw: {}'].join('\n');
  const { policy, issues } = parseRolloutText('prod/rollout.yaml', text);
  assert.equal(policy, null);
  const lines = short(issues);
  assert.ok(lines.includes('prod/rollout.yaml:2:14 INVALID_VALUE'), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('prod/rollout.yaml:3:') && l.endsWith('INVALID_VALUE')), lines.join('\n'));
  assert.ok(lines.includes('prod/rollout.yaml:5:7 INVALID_VALUE'), lines.join('\n'));
  assert.ok(lines.includes('prod/rollout.yaml:6:9 INVALID_VALUE'), lines.join('\n'));
  assert.ok(lines.includes('prod/rollout.yaml:7:16 INVALID_VALUE'), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('prod/rollout.yaml:8:1 UNKNOWN_KEY')), lines.join('\n'));
  const noWaves = parseRolloutText('rollout.yaml', 'soak: 1m\n');
  assert.deepEqual(short(noWaves.issues), ['rollout.yaml:1:1 MISSING_KEY']);
});

test('the nearest rollout.yaml applies; the file is not a resource layer; wave references are checked', async (t) => {
  const root = makeTree(t, {
    'rollout.yaml': 'waves: [{ percent: 50 }]\n',
    'prod/rollout.yaml': 'waves:\n  - hosts: [web-01, web-99]\n  - tags: [prod/eu, prod/asia]\n',
    'prod/eu/web-01/host.yaml': host,
    'prod/eu/web-02/host.yaml': host,
    'staging/st-01/host.yaml': host,
  });
  const summary = await validateTree(root);
  assert.deepEqual(short(summary.issues), [], 'rollout.yaml is not read as resources');
  const reading = await readRolloutPolicies(root, summary);
  assert.deepEqual(reading.scopes.map((s) => s.dir), ['prod', '']);
  assert.equal(scopeOf('prod/eu/web-01', reading.scopes)!.dir, 'prod');
  assert.equal(scopeOf('staging/st-01', reading.scopes)!.dir, '');
  assert.deepEqual(short(reading.issues), ['prod/rollout.yaml:2:21 UNKNOWN_HOST', 'prod/rollout.yaml:3:21 UNKNOWN_TAG']);
  assert.match(reading.issues[0]!.message, /"web-99" is not a host this rollout.yaml applies to/);
  assert.deepEqual(reading.invalid, []);
});

test('a rollout.yaml in a host directory or a cross-cutting tag is refused; an invalid one marks its scope', async (t) => {
  const root = makeTree(t, {
    'prod/web-01/host.yaml': 'tags: [monitoring]\n',
    'prod/web-01/rollout.yaml': 'waves: [{ percent: 10 }]\n',
    'tags/monitoring/rollout.yaml': 'waves: [{ percent: 10 }]\n',
    'tags/monitoring/base.yaml': 'files: {}\n',
    'prod/rollout.yaml': 'waves: []\n',
  });
  const summary = await validateTree(root);
  const reading = await readRolloutPolicies(root, summary);
  assert.deepEqual(short(reading.issues).sort(), ['prod/rollout.yaml:1:8 INVALID_VALUE', 'prod/web-01/rollout.yaml:1:1 LAYOUT_INVALID', 'tags/monitoring/rollout.yaml:1:1 LAYOUT_INVALID']);
  assert.deepEqual(reading.invalid, ['prod']);
  assert.deepEqual(reading.scopes, []);
});

test('the window is UTC days and hours; an end before the start spans midnight', () => {
  const monday9 = new Date('2026-11-30T09:00:00Z');
  const monday18 = new Date('2026-11-30T18:00:00Z');
  const sunday9 = new Date('2026-11-29T09:00:00Z');
  const office = { days: ['mon' as const, 'tue' as const], hours: '08:00-17:00' };
  assert.equal(insideWindow(office, monday9), true);
  assert.equal(insideWindow(office, monday18), false);
  assert.equal(insideWindow(office, sunday9), false);
  assert.equal(insideWindow({ hours: '22:00-06:00' }, new Date('2026-11-30T23:30:00Z')), true);
  assert.equal(insideWindow({ hours: '22:00-06:00' }, new Date('2026-11-30T05:59:00Z')), true);
  assert.equal(insideWindow({ hours: '22:00-06:00' }, new Date('2026-11-30T12:00:00Z')), false);
  assert.equal(insideWindow(null, sunday9), true);
});

test('gitfleet validate reports rollout.yaml errors with file:line:column and exits 1', async (t) => {
  const root = makeTree(t, {
    'prod/rollout.yaml': 'waves:\n  - hosts: [web-99]\nsoak: later\n',
    'prod/web-01/host.yaml': host,
  });
  const { spawnSync } = await import('node:child_process');
  const { join, resolve } = await import('node:path');
  const project = resolve(import.meta.dirname, '../..');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(project, 'cli/main.ts'), 'validate', root], { cwd: project, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^prod\/rollout\.yaml:3:7 {2}INVALID_VALUE {2}"soak" must be a duration like 30s, 10m, 1h30m, not the string "later"$/m);
  const fixed = makeTree(t, { 'prod/rollout.yaml': 'waves:\n  - hosts: [web-99]\n', 'prod/web-01/host.yaml': host });
  const again = spawnSync(process.execPath, ['--import', 'tsx', join(project, 'cli/main.ts'), 'validate', fixed], { cwd: project, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  assert.equal(again.status, 1);
  assert.match(again.stdout, /^prod\/rollout\.yaml:2:13 {2}UNKNOWN_HOST {2}waves\[0\]\.hosts: "web-99" is not a host this rollout\.yaml applies to/m);
});
