// Schema errors carry file, line, column, a stable code, and for an unknown
// key the nearest valid key; every error is reported, not just the first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDesiredState, TreeInvalidError, validateTree } from '../../repo/tree/index.ts';
import { brief, issuesOf, makeTree } from './repo-fixture.ts';

const file = [
  'containers:', // 1
  '  web:', // 2
  '    imgae: local/busybox:1', // 3
  '    restart: sometimes', // 4
  '    healthcheck:', // 5
  '      test: ["CMD", "true"]', // 6
  '      intervl: 10s', // 7
  '    ports: [8080, true]', // 8
  '    stop_grace_period: 10 seconds', // 9
  'units:', // 10
  '  app.service:', // 11
  '    enabled: yes-please', // 12
  'files:', // 13
  '  /etc/x.conf:', // 14
  '    content: x', // 15
  '    mode: 0644', // 16
  '    ownr: root', // 17
  'contaners: {}', // 18
].join('\n');

test('every schema error, with position, code and a suggestion', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': '', 'a/r.yaml': file + '\n' });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), [
    'a/r.yaml:2:3 MISSING_KEY',
    'a/r.yaml:3:5 UNKNOWN_KEY',
    'a/r.yaml:4:14 INVALID_VALUE',
    'a/r.yaml:7:7 UNKNOWN_KEY',
    'a/r.yaml:8:19 INVALID_VALUE',
    'a/r.yaml:9:24 INVALID_VALUE',
    'a/r.yaml:11:3 MISSING_KEY',
    'a/r.yaml:12:14 INVALID_VALUE',
    'a/r.yaml:16:11 INVALID_VALUE',
    'a/r.yaml:17:5 UNKNOWN_KEY',
    'a/r.yaml:18:1 UNKNOWN_KEY',
  ]);
  const text = (line: number) => issues.filter((i) => i.line === line).map((i) => i.message).join(' | ');
  assert.match(text(2), /missing required key "image" in container "web"/);
  assert.match(text(3), /unknown key "imgae" in container "web" — did you mean "image"\?/);
  assert.match(text(4), /must be one of no, always, on-failure, unless-stopped/);
  assert.match(text(7), /unknown key "intervl" in "healthcheck" in container "web" — did you mean "interval"\?/);
  assert.match(text(8), /"ports\[1\]" in container "web" must be a string or a number, not boolean true/);
  assert.match(text(9), /duration like 10s/);
  assert.match(text(11), /missing required key "content"/);
  assert.match(text(16), /quoted string, like "0644"/);
  assert.match(text(17), /did you mean "owner"\?/);
  assert.match(text(18), /did you mean "containers"\?/);
  // validate prints the same list.
  assert.deepEqual(brief((await validateTree(root)).issues), brief(issues));
});

test('TreeInvalidError: the first issue’s code, a one-line summary, every issue attached', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': 'bogus: 1\n', 'a/r.yaml': 'containers:\n  web: {}\n' });
  await assert.rejects(loadDesiredState(root, { host: 'h1' }), (e) => {
    assert.ok(e instanceof TreeInvalidError);
    assert.equal(e.issues.length, 2);
    assert.equal(e.code, e.issues[0]!.code);
    assert.equal(e.retryable, false);
    assert.match(e.message, /^the fleet tree is invalid: a\/h1\/host\.yaml:1:1 {2}UNKNOWN_KEY .* \(and 1 more\)$/);
    return true;
  });
});

test('host.yaml accepts only tags, vars, defaults, allowEmpty', async (t) => {
  const root = makeTree(t, { 'a/h1/host.yaml': 'tags: gpu\nallowEmpty: "yes"\nplace: x\n' });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), ['a/h1/host.yaml:1:7 INVALID_VALUE', 'a/h1/host.yaml:2:13 INVALID_VALUE', 'a/h1/host.yaml:3:1 UNKNOWN_KEY']);
  assert.match(issues[2]!.message, /valid keys: tags, vars, defaults, allowEmpty/);
});
