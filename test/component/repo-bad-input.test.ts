// Bad input: each case gives one clear error with a code and a position, and
// nothing crashes (issue 2, "Bad input").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadDesiredState, MAX_ALIAS_COUNT, MAX_FILE_BYTES, validateTree } from '../../repo/tree/index.ts';
import { brief, issuesOf, makeTree } from './repo-fixture.ts';

async function onlyIssue(root: string, host = 'h1') {
  const issues = await issuesOf(loadDesiredState(root, { host }));
  assert.equal(issues.length, 1, JSON.stringify(issues, null, 1));
  // validate finds the same problem.
  assert.deepEqual(brief((await validateTree(root)).issues), brief(issues));
  return issues[0]!;
}

test('invalid YAML: YAML_SYNTAX at the offending line', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': '', 'a/r.yaml': 'containers:\n  web:\n    image: a: b\n' });
  const i = await onlyIssue(root);
  assert.equal(i.code, 'YAML_SYNTAX');
  assert.equal(i.file, 'a/r.yaml');
  assert.equal(i.line, 3);
});

test('unknown YAML tags are errors, not silently strings', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': '', 'a/r.yaml': 'containers:\n  web:\n    image: !!python/object x\n' });
  assert.equal((await onlyIssue(root)).code, 'YAML_SYNTAX');
});

test('a YAML alias bomb is refused with YAML_ALIAS_LIMIT', async (t) => {
  let bomb = 'vars:\n  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 1; i < 10; i++) bomb += `  a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]\n`;
  const root = makeTree(t, { 'a/h1/host.yaml': '', 'a/bomb.yaml': bomb });
  const i = await onlyIssue(root);
  assert.equal(i.code, 'YAML_ALIAS_LIMIT');
  assert.match(i.message, new RegExp(`more than ${MAX_ALIAS_COUNT}`));
});

test('a few legitimate aliases are fine', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': '', 'a/r.yaml': 'containers:\n  aa: &base\n    image: local/busybox:1\n  bb: *base\n' });
  const s = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(s.resources.map((r) => r.id), ['container/aa', 'container/bb']);
});

test('a file over 1 MiB is refused without being parsed', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': '', 'a/big.yaml': `vars:\n  x: "${'y'.repeat(MAX_FILE_BYTES)}"\n` });
  const i = await onlyIssue(root);
  assert.equal(i.code, 'FILE_TOO_LARGE');
  assert.equal(i.file, 'a/big.yaml');
});

test('a symlink pointing outside the tree is SYMLINK_ESCAPE; one inside the tree is followed', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': '', 'shared/r.yaml.txt': 'containers:\n  in:\n    image: i1\n' });
  symlinkSync('../../shared/r.yaml.txt', join(root, 'a/h1/inside.yaml'));
  const s = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(s.resources.map((r) => r.id), ['container/in']);
  symlinkSync('/etc/hostname', join(root, 'a/h1/outside.yaml'));
  const i = await onlyIssue(root);
  assert.deepEqual([i.file, i.code], ['a/h1/outside.yaml', 'SYMLINK_ESCAPE']);
});

test('a symlink escaping through a relative path or to a directory is refused', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': '' });
  symlinkSync('../../../../../../../etc/passwd', join(root, 'a/h1/p.yaml'));
  assert.equal((await onlyIssue(root)).code, 'SYMLINK_ESCAPE');
  const root2 = makeTree(t, { 'a/h1/host.yaml': '', 'real/x.yaml': '' });
  symlinkSync('../real', join(root2, 'a/linked'));
  const i = await onlyIssue(root2);
  assert.deepEqual([i.file, i.code], ['a/linked', 'LAYOUT_INVALID']);
});

test('a *.yaml that is a FIFO or a directory is refused, not read (reading a FIFO would block)', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': '', 'a/r.yaml/': '' });
  const fifo = join(root, 'a/h1/extra.yaml');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const summary = await validateTree(root);
  assert.ok(summary.issues.some((i) => i.file === 'a/h1/extra.yaml' && i.code === 'FILE_UNREADABLE'), JSON.stringify(summary.issues));
});

test('host ids and tag names must be lowercase hostnames: no "/", "..", "_", capitals', async (t) => {
  const root = makeTree(t, { 'Prod/h1/host.yaml': '', 'ok/Web_01/host.yaml': '', 'ok/h2/host.yaml': 'tags: ["../etc", "a/b", "x..y", "fine"]\n', 'tags/fine/': '' });
  const summary = await validateTree(root);
  assert.deepEqual(brief(summary.issues), [
    'Prod/:1:1 INVALID_NAME',
    'ok/Web_01/:1:1 INVALID_NAME',
    'ok/h2/host.yaml:1:8 INVALID_NAME',
    'ok/h2/host.yaml:1:18 INVALID_NAME',
    'ok/h2/host.yaml:1:25 INVALID_NAME',
  ]);
  assert.match(summary.issues[2]!.message, /contains '\/'/);
  assert.match(summary.issues[4]!.message, /contains '\.\.'/);
  const viaLoad = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(viaLoad), ['Prod/:1:1 INVALID_NAME']);
});

test('file resource paths must be absolute and normalized', async (t) => {
  const root = makeTree(t, {
    'a/h1/host.yaml': '',
    'a/r.yaml': 'files:\n  etc/rel: {content: x}\n  /etc/../shadow: {content: x}\n  /etc//x: {content: x}\n  /etc/./y: {content: x}\n  /etc/z/: {content: x}\n  /: {content: x}\n  /etc/fine: {content: x}\n',
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), ['a/r.yaml:2:3 INVALID_PATH', 'a/r.yaml:3:3 INVALID_PATH', 'a/r.yaml:4:3 INVALID_PATH', 'a/r.yaml:5:3 INVALID_PATH', 'a/r.yaml:6:3 INVALID_PATH', 'a/r.yaml:7:3 INVALID_PATH']);
  assert.match(issues[1]!.message, /'\.\.'/);
});

test('systemd unit names and Docker container names are checked', async (t) => {
  const root = makeTree(t, {
    'a/h1/host.yaml': '',
    'a/r.yaml': [
      'units:',
      '  nosuffix: {content: x}',
      '  bad/slash.service: {content: x}',
      '  x.scope: {content: x}',
      '  getty@tty1.service: {content: x}',
      '  ok-name.timer: {content: x}',
      'containers:',
      '  "-leading": {image: i1}',
      '  "has space": {image: i1}',
      '  a: {image: i1}',
      '  good_name.1: {image: i1}',
    ].join('\n') + '\n',
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), ['a/r.yaml:2:3 INVALID_NAME', 'a/r.yaml:3:3 INVALID_NAME', 'a/r.yaml:4:3 INVALID_NAME', 'a/r.yaml:8:3 INVALID_NAME', 'a/r.yaml:9:3 INVALID_NAME', 'a/r.yaml:10:3 INVALID_NAME']);
});

test('a resource file that is not a map, and a section that is not a map, are clear errors', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': '- just\n- a list\n', 'a/r.yaml': 'containers:\n  - web\nunits: "x"\n' });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), ['a/h1/host.yaml:1:1 INVALID_VALUE', 'a/r.yaml:2:3 INVALID_VALUE', 'a/r.yaml:3:8 INVALID_VALUE']);
  assert.match(issues[1]!.message, /"containers" must be a map, not a list/);
});

test('a file that cannot be read (dangling symlink) is FILE_UNREADABLE', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': '' });
  mkdirSync(join(root, 'a/h1/dir'));
  writeFileSync(join(root, 'a/h1/dir/x'), '');
  symlinkSync('nothing-here.yaml', join(root, 'a/h1/dangling.yaml'));
  const summary = await validateTree(root);
  assert.deepEqual(brief(summary.issues), ['a/h1/dangling.yaml:1:1 FILE_UNREADABLE', 'a/h1/dir/:1:1 LAYOUT_INVALID']);
});
