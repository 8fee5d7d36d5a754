// Layering (general → specific, whole replacement, absent: true, duplicates in
// one layer), variables and layer defaults, references and cycles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDesiredState, validateTree } from '../../repo/tree/index.ts';
import { explainDesiredState } from '../../repo/tree/index.ts';
import { brief, issuesOf, makeTree } from './repo-fixture.ts';

test('a more specific layer replaces a resource whole (keys are not merged)', async (t) => {
  const root = makeTree(t, {
    'base.yaml': 'containers:\n  web:\n    image: local/busybox:1\n    env: { A: "1" }\n    restart: always\n',
    'prod/web-01/host.yaml': '',
    'prod/web-01/web.yaml': 'containers:\n  web:\n    image: local/busybox:1\n    command: ["httpd"]\n',
  });
  const s = await loadDesiredState(root, { host: 'web-01' });
  assert.equal(s.resources.length, 1);
  assert.deepEqual(s.resources[0]!.spec, { image: 'local/busybox:1', command: ['httpd'] });
  assert.deepEqual(s.resources[0]!.source, { file: 'prod/web-01/web.yaml', line: 2, layer: 'prod/web-01' });
});

test('absent: true removes an inherited resource below its layer only; a lower layer may declare it again', async (t) => {
  const root = makeTree(t, {
    'base.yaml': 'files:\n  /etc/motd:\n    content: hi\n',
    'quiet/q.yaml': 'files:\n  /etc/motd:\n    absent: true\n  /etc/never-declared:\n    absent: true\n',
    'quiet/h1/host.yaml': '',
    'quiet/back/b.yaml': 'files:\n  /etc/motd:\n    content: back\n',
    'quiet/back/h2/host.yaml': '',
    'loud/h3/host.yaml': '',
  });
  const h1 = await explainDesiredState(root, { host: 'h1' });
  assert.deepEqual(h1.state.resources, []);
  assert.deepEqual(h1.removed, [{ id: 'file//etc/motd', by: { file: 'quiet/q.yaml', line: 2, column: 3 }, declared: { file: 'base.yaml', line: 2, column: 3 } }]);
  const h2 = await loadDesiredState(root, { host: 'h2' });
  assert.equal(h2.resources[0]?.kind === 'file' && h2.resources[0].spec.content, 'back');
  const h3 = await loadDesiredState(root, { host: 'h3' });
  assert.equal(h3.resources[0]?.kind === 'file' && h3.resources[0].spec.content, 'hi');
});

test('absent: true takes no other keys', async (t) => {
  const root = makeTree(t, { 'x/h1/host.yaml': '', 'x/a.yaml': 'units:\n  a.service:\n    absent: true\n    content: x\n  b.service:\n    absent: false\n' });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), ['x/a.yaml:4:5 UNKNOWN_KEY', 'x/a.yaml:6:13 INVALID_VALUE']);
});

test('the same resource twice in one layer is an error naming both files', async (t) => {
  const root = makeTree(t, {
    'prod/a.yaml': 'containers:\n  web:\n    image: local/busybox:1\n',
    'prod/b.yaml': '\n\ncontainers:\n  web:\n    image: local/busybox:1\n',
    'prod/h1/host.yaml': '',
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), ['prod/b.yaml:4:3 DUPLICATE_RESOURCE']);
  assert.match(issues[0]!.message, /prod\/a\.yaml:2 and prod\/b\.yaml:4/);
  assert.deepEqual(brief((await validateTree(root)).issues), ['prod/b.yaml:4:3 DUPLICATE_RESOURCE']);
});

test('a duplicate key inside one file is a YAML error', async (t) => {
  const root = makeTree(t, { 'h/h1/host.yaml': '', 'h/a.yaml': 'containers:\n  web:\n    image: a1\n  web:\n    image: b2\n' });
  assert.deepEqual(brief(await issuesOf(loadDesiredState(root, { host: 'h1' }))), ['h/a.yaml:4:3 YAML_SYNTAX']);
});

test('variables: more specific layers override, built-in facts, vars that use vars, $${ escapes', async (t) => {
  const root = makeTree(t, {
    'base.yaml': 'vars:\n  region: none\n  port: 80\n  url: "http://${host}.${region}:${port}"\n',
    'eu/eu.yaml': 'vars: { region: eu }\n',
    'tags/gpu/g.yaml': 'vars: { port: 8080 }\n',
    'eu/h1/host.yaml': 'tags: [gpu]\nvars:\n  flag: true\n',
    'eu/h1/u.yaml': [
      'units:',
      '  app.service:',
      '    content: |',
      '      [Service]',
      '      Environment=URL=${url} FLAG=${flag}',
      '      ExecStart=/bin/sh -c \'echo $${URL} $HOME $$ ${place} ${tags}\'',
    ].join('\n') + '\n',
  });
  const s = await loadDesiredState(root, { host: 'h1' });
  const unit = s.resources[0]!;
  assert.equal(unit.kind, 'unit');
  assert.equal(
    unit.spec.content,
    "[Service]\nEnvironment=URL=http://h1.eu:8080 FLAG=true\nExecStart=/bin/sh -c 'echo ${URL} $HOME $$ eu/h1 eu,gpu'\n",
  );
  assert.deepEqual(s.vars, { host: 'h1', place: 'eu/h1', tags: 'eu,gpu', flag: 'true', port: '8080', region: 'eu', url: 'http://h1.eu:8080' });
});

test('an unresolved variable is an error at the line of the value that uses it', async (t) => {
  const root = makeTree(t, {
    'base.yaml': 'containers:\n  web:\n    image: local/busybox:1\n    env:\n      A: "${nope}"\n',
    'a/h1/host.yaml': '',
    'a/h2/host.yaml': 'vars: { nope: "1" }\n',
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), ['base.yaml:5:10 UNRESOLVED_VARIABLE']);
  assert.match(issues[0]!.message, /\$\{nope\}/);
  const h2 = await loadDesiredState(root, { host: 'h2' });
  assert.equal(h2.resources[0]?.kind === 'container' && h2.resources[0].spec.env?.A, '1');
  // validate reports it once, for the hosts it affects.
  const summary = await validateTree(root);
  assert.deepEqual(brief(summary.issues), ['base.yaml:5:10 UNRESOLVED_VARIABLE']);
  assert.match(summary.issues[0]!.message, /for host h1\)$/);
});

test('variable problems: a cycle, a built-in redefined, one var twice in a layer, a malformed reference', async (t) => {
  const root = makeTree(t, {
    'a/h1/host.yaml': 'vars:\n  x: "${y}"\n  y: "${x}"\n  host: me\n',
    'a/v1.yaml': 'vars: { dup: "1" }\n',
    'a/v2.yaml': 'vars: { dup: "2" }\nfiles:\n  /etc/x:\n    content: "${not valid}"\n',
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), [
    'a/h1/host.yaml:2:3 UNRESOLVED_VARIABLE',
    'a/h1/host.yaml:4:3 INVALID_NAME',
    'a/v2.yaml:1:9 DUPLICATE_SETTING',
    'a/v2.yaml:4:14 INVALID_VALUE',
  ]);
  assert.match(issues[0]!.message, /cycle: x → y → x/);
});

test('a value that is only valid after substitution is checked per host', async (t) => {
  const root = makeTree(t, {
    'base.yaml': 'files:\n  /etc/f:\n    content: x\n    mode: "${mode}"\n',
    'a/good/host.yaml': 'vars: { mode: "0640" }\n',
    'a/bad/host.yaml': 'vars: { mode: "rw-r--r--" }\n',
  });
  const good = await loadDesiredState(root, { host: 'good' });
  assert.equal(good.resources[0]?.kind === 'file' && good.resources[0].spec.mode, '0640');
  const issues = await issuesOf(loadDesiredState(root, { host: 'bad' }));
  assert.deepEqual(brief(issues), ['base.yaml:4:11 INVALID_VALUE']);
  assert.match(issues[0]!.message, /octal mode/);
});

test('defaults.drift: the most specific layer of the host wins; a resource’s own drift wins over it', async (t) => {
  const root = makeTree(t, {
    'base.yaml': 'containers:\n  aa:\n    image: i1\n  bb:\n    image: i1\n    drift: ignore\n',
    'staging/s.yaml': 'defaults: { drift: report }\n',
    'staging/h1/host.yaml': '',
    'staging/h2/host.yaml': 'defaults: { drift: correct }\n',
    'staging/h3/host.yaml': 'tags: [frozen]\n',
    'tags/frozen/f.yaml': 'defaults: { drift: ignore }\n',
    'prod/h4/host.yaml': '',
  });
  const drift = async (host: string) => (await loadDesiredState(root, { host })).resources.map((r) => `${r.name}=${r.drift}`);
  assert.deepEqual(await drift('h1'), ['aa=report', 'bb=ignore']);
  assert.deepEqual(await drift('h2'), ['aa=correct', 'bb=ignore']);
  assert.deepEqual(await drift('h3'), ['aa=ignore', 'bb=ignore']);
  assert.deepEqual(await drift('h4'), ['aa=correct', 'bb=ignore']);
});

test('defaults.drift twice in one layer is an error', async (t) => {
  const root = makeTree(t, { 'a/x.yaml': 'defaults: { drift: report }\n', 'a/y.yaml': 'defaults:\n  drift: ignore\n', 'a/h1/host.yaml': '' });
  assert.deepEqual(brief(await issuesOf(loadDesiredState(root, { host: 'h1' }))), ['a/y.yaml:2:3 DUPLICATE_SETTING']);
});

test('depends_on and notify must name declared resources of the host', async (t) => {
  const root = makeTree(t, {
    'a/h1/host.yaml': '',
    'a/r.yaml': [
      'files:',
      '  /etc/app.conf:',
      '    content: x',
      '    notify: [unit/app.service, container/wbe]',
      'units:',
      '  app.service:',
      '    content: "[Service]\\nExecStart=/bin/true\\n"',
      '    depends_on: [file//etc/app.conf]',
      'containers:',
      '  web:',
      '    image: i1',
      '    depends_on:',
      '      - unit/app.service',
      '      - unit/ghost.service',
    ].join('\n') + '\n',
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), ['a/r.yaml:4:32 UNKNOWN_DEPENDENCY', 'a/r.yaml:14:9 UNKNOWN_DEPENDENCY']);
  assert.match(issues[0]!.message, /did you mean "container\/web"/);
});

test('a reference to a resource that an absent removed is unknown for that host', async (t) => {
  const root = makeTree(t, {
    'base.yaml': 'units:\n  a.service:\n    content: x\ncontainers:\n  web:\n    image: i1\n    depends_on: [unit/a.service]\n',
    'p/h1/host.yaml': '',
    'p/h1/x.yaml': 'units:\n  a.service:\n    absent: true\n',
    'p/h2/host.yaml': '',
  });
  assert.deepEqual(brief(await issuesOf(loadDesiredState(root, { host: 'h1' }))), ['base.yaml:7:18 UNKNOWN_DEPENDENCY']);
  assert.equal((await loadDesiredState(root, { host: 'h2' })).resources.length, 2);
});

test('depends_on must not form a cycle', async (t) => {
  const root = makeTree(t, {
    'a/h1/host.yaml': '',
    'a/r.yaml': 'containers:\n  aa:\n    image: i1\n    depends_on: [container/bb]\n  bb:\n    image: i1\n    depends_on: [container/cc]\n  cc:\n    image: i1\n    depends_on: [container/aa]\n  dd:\n    image: i1\n    depends_on: [container/dd]\n',
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(issues.map((i) => i.code), ['DEPENDENCY_CYCLE', 'DEPENDENCY_CYCLE']);
  assert.ok(issues.some((i) => /container\/aa → container\/bb → container\/cc → container\/aa/.test(i.message)));
  assert.ok(issues.some((i) => /container\/dd → container\/dd/.test(i.message)));
});

test('resources come out files, then units, then containers, each sorted by name; dependsOn is kept', async (t) => {
  const root = makeTree(t, {
    'a/h1/host.yaml': '',
    'a/r.yaml': 'containers:\n  zz:\n    image: i1\n  ab:\n    image: i1\n    depends_on: [file//b]\nunits:\n  u.service:\n    content: x\nfiles:\n  /b:\n    content: ""\n  /a:\n    content: ""\n',
  });
  const s = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(s.resources.map((r) => r.id), ['file//a', 'file//b', 'unit/u.service', 'container/ab', 'container/zz']);
  assert.deepEqual(s.resources.find((r) => r.id === 'container/ab')?.dependsOn, ['file//b']);
});

test('an invalid declaration refuses the host even when a more specific layer replaces it', async (t) => {
  const root = makeTree(t, {
    'base.yaml': 'containers:\n  web:\n    image: i1\n    restrat: always\n',
    'a/h1/host.yaml': '',
    'a/h1/web.yaml': 'containers:\n  web:\n    image: i2\n',
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), ['base.yaml:4:5 UNKNOWN_KEY']);
  assert.match(issues[0]!.message, /did you mean "restart"/);
});
