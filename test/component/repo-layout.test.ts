// Directory = tag, host directory = host.yaml, place, cross-cutting tags,
// and the layout rules (docs/fleet-repo.md "Layout").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { isGitfleetError } from '../../shared/errors.ts';
import { loadDesiredState, validateTree } from '../../repo/tree/index.ts';
import { brief, issuesOf, makeTree } from './repo-fixture.ts';

const busybox = (name: string) => `containers:\n  ${name}:\n    image: local/busybox:1\n`;

test('a host directory gets its path tags, and every directory down its path is a layer', async (t) => {
  const root = makeTree(t, { 'base.yaml': busybox('aa'), 'prod/eu/web-01/host.yaml': '', 'prod/p.yaml': busybox('bb'), 'prod/eu/e.yml': busybox('cc') });
  const s = await loadDesiredState(root, { host: 'web-01' });
  assert.equal(s.host, 'web-01');
  assert.equal(s.place, 'prod/eu/web-01');
  assert.deepEqual(s.tags, ['prod', 'prod/eu']);
  assert.deepEqual(s.layers, ['', 'prod', 'prod/eu', 'prod/eu/web-01']);
  assert.deepEqual(s.resources.map((r) => `${r.id}@${r.source.layer}`), ['container/aa@', 'container/bb@prod', 'container/cc@prod/eu']);
});

test('an empty host.yaml declares a host; files other than *.yaml/*.yml and dot-directories are ignored', async (t) => {
  const root = makeTree(t, {
    'site/h1/host.yaml': '',
    'site/README.md': 'not: [valid yaml',
    'site/notes.txt': '{{{',
    '.git/config.yaml': 'broken: [',
    'site/.hidden.yaml': 'broken: [',
  });
  const s = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(s.resources, []);
  const summary = await validateTree(root);
  assert.deepEqual(summary.issues, []);
  assert.deepEqual(summary.hosts, [{ id: 'h1', dir: 'site/h1', pathTags: ['site'], crossTags: [] }]);
  assert.deepEqual(summary.tags, ['site']);
});

test('duplicate host ids are an error naming both directories', async (t) => {
  const root = makeTree(t, { 'eu/web-01/host.yaml': '', 'us/web-01/host.yaml': '', 'us/deep/x/y/host.yaml': '' });
  const summary = await validateTree(root);
  assert.deepEqual(brief(summary.issues), ['us/web-01/host.yaml:1:1 DUPLICATE_HOST']);
  assert.match(summary.issues[0]!.message, /eu\/web-01\/ and us\/web-01\//);
  // Two at the same depth: loadDesiredState sees both and refuses.
  const issues = await issuesOf(loadDesiredState(root, { host: 'web-01' }));
  assert.deepEqual(brief(issues), ['us/web-01/host.yaml:1:1 DUPLICATE_HOST']);
});

test('an unknown host id is UNKNOWN_HOST listing the nearest ids', async (t) => {
  const root = makeTree(t, { 'a/web-01/host.yaml': '', 'a/web-02/host.yaml': '', 'b/db-01/host.yaml': '' });
  await assert.rejects(loadDesiredState(root, { host: 'web-1' }), (e) => {
    assert.ok(isGitfleetError(e, 'UNKNOWN_HOST'));
    assert.match(e.message, /"web-1".*nearest: web-01, web-02/);
    return true;
  });
  await assert.rejects(loadDesiredState(root, { host: 'Web_01' }), (e) => isGitfleetError(e, 'UNKNOWN_HOST') && /can never match/.test(e.message));
});

test('place: a host without a directory uses the place as its leaf layer and keeps its own id', async (t) => {
  const root = makeTree(t, {
    'prod/p.yaml': busybox('base'),
    'prod/kiosks/k.yaml': 'files:\n  /srv/kiosk:\n    content: "${host} at ${place}"\n',
  });
  const s = await loadDesiredState(root, { host: 'kiosk-7', place: 'prod/kiosks' });
  assert.equal(s.host, 'kiosk-7');
  assert.equal(s.place, 'prod/kiosks');
  assert.deepEqual(s.tags, ['prod', 'prod/kiosks']);
  assert.deepEqual(s.layers, ['', 'prod', 'prod/kiosks']);
  const file = s.resources.find((r) => r.kind === 'file');
  assert.equal(file?.spec.content, 'kiosk-7 at prod/kiosks');
  assert.equal(s.allowEmpty, false);
});

test('place: a host with its own directory right under its place uses that directory', async (t) => {
  const root = makeTree(t, { 'prod/kiosks/k.yaml': busybox('ui'), 'prod/kiosks/kiosk-9/host.yaml': 'allowEmpty: true\n' });
  const s = await loadDesiredState(root, { host: 'kiosk-9', place: 'prod/kiosks' });
  assert.equal(s.place, 'prod/kiosks/kiosk-9');
  assert.deepEqual(s.tags, ['prod', 'prod/kiosks']);
  assert.equal(s.allowEmpty, true);
});

test('place: a place that is not a tag directory is UNKNOWN_PLACE with the nearest', async (t) => {
  const root = makeTree(t, { 'prod/kiosks/k.yaml': busybox('ui'), 'prod/h1/host.yaml': '', 'tags/gpu/g.yaml': busybox('gg') });
  for (const [place, pattern] of [
    ['prod/kiosk', /nearest: prod\/kiosks/],
    ['prod/../etc', /not a tag path/],
    ['tags/gpu', /cross-cutting/],
    ['prod/h1', /directory of host "h1"/],
    ['/prod', /not a tag path/],
  ] as const) {
    await assert.rejects(loadDesiredState(root, { host: 'k1', place }), (e) => isGitfleetError(e, 'UNKNOWN_PLACE') && pattern.test(e.message), place);
  }
});

test('cross-cutting tags apply after the path layers and before the host, in the order listed', async (t) => {
  const root = makeTree(t, {
    'base.yaml': 'vars: { who: root }\n',
    'prod/p.yaml': 'vars: { who: prod }\n',
    'tags/gpu/g.yaml': 'vars: { who: gpu, gpu: "yes" }\n' + busybox('cuda'),
    'tags/mon/m.yaml': 'vars: { who: mon }\nfiles:\n  /etc/who:\n    content: "${who} ${gpu} ${tags}"\n',
    'prod/h1/host.yaml': 'tags: [gpu, mon]\n',
    'prod/h2/host.yaml': 'tags: [mon, gpu]\nvars: { who: h2 }\n',
  });
  const h1 = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(h1.tags, ['prod', 'gpu', 'mon']);
  assert.deepEqual(h1.layers, ['', 'prod', 'tags/gpu', 'tags/mon', 'prod/h1']);
  assert.equal(h1.resources.find((r) => r.kind === 'file')?.spec.content, 'mon yes prod,gpu,mon');
  const h2 = await loadDesiredState(root, { host: 'h2' });
  assert.deepEqual(h2.layers, ['', 'prod', 'tags/mon', 'tags/gpu', 'prod/h2']);
  assert.equal(h2.resources.find((r) => r.kind === 'file')?.spec.content, 'h2 yes prod,mon,gpu');
  const summary = await validateTree(root);
  assert.deepEqual(summary.issues, []);
  assert.deepEqual(summary.tags, ['gpu', 'mon', 'prod']);
  assert.deepEqual(summary.hosts.map((h) => h.crossTags), [['gpu', 'mon'], ['mon', 'gpu']]);
});

test('a cross-cutting tag without a directory is UNKNOWN_TAG at its line, with the nearest name', async (t) => {
  const root = makeTree(t, { 'tags/monitoring/m.yaml': busybox('mm'), 'site/h1/host.yaml': '# tags\ntags:\n  - monitorin\n' });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(issues), ['site/h1/host.yaml:3:5 UNKNOWN_TAG']);
  assert.match(issues[0]!.message, /did you mean "monitoring"/);
  assert.deepEqual(brief((await validateTree(root)).issues), ['site/h1/host.yaml:3:5 UNKNOWN_TAG']);
});

test('layout rules: host directories are leaves, tags/ holds only tag directories, no host.yaml at the root', async (t) => {
  const root = makeTree(t, {
    'host.yaml': '',
    'prod/h1/host.yaml': '',
    'prod/h1/sub/x.yaml': busybox('xx'),
    'tags/stray.yaml': busybox('ss'),
    'tags/gpu/inner/y.yaml': busybox('yy'),
    'tags/prod/p.yaml': busybox('pp'),
    'tags/mon/host.yaml': '',
  });
  const summary = await validateTree(root);
  assert.deepEqual(brief(summary.issues), [
    'host.yaml:1:1 LAYOUT_INVALID',
    'prod/h1/sub/:1:1 LAYOUT_INVALID',
    'tags/gpu/inner/:1:1 LAYOUT_INVALID',
    'tags/mon/host.yaml:1:1 LAYOUT_INVALID',
    'tags/prod/:1:1 LAYOUT_INVALID',
    'tags/stray.yaml:1:1 LAYOUT_INVALID',
  ]);
  const hostIssues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(brief(hostIssues), ['host.yaml:1:1 LAYOUT_INVALID', 'prod/h1/sub/:1:1 LAYOUT_INVALID']);
});

test('loadDesiredState reads only its own layers: a broken file elsewhere does not refuse this host', async (t) => {
  const root = makeTree(t, {
    'base.yaml': busybox('everyone'),
    'prod/a/host.yaml': '',
    'prod/b/host.yaml': '',
    'prod/b/broken.yaml': 'containers: [',
    'staging/s.yaml': 'nonsense: true\n',
    'tags/gpu/g.yaml': 'containers: {xx: {imag: y}}\n',
  });
  const a = await loadDesiredState(root, { host: 'a' });
  assert.deepEqual(a.resources.map((r) => r.id), ['container/everyone']);
  await issuesOf(loadDesiredState(root, { host: 'b' }));
  assert.deepEqual(brief((await validateTree(root)).issues), [
    'prod/b/broken.yaml:1:14 YAML_SYNTAX',
    'staging/s.yaml:1:1 UNKNOWN_KEY',
    'tags/gpu/g.yaml:1:14 MISSING_KEY',
    'tags/gpu/g.yaml:1:19 UNKNOWN_KEY',
  ]);
});

test('the host lookup does not open other hosts at the same depth (their unreadable files are never touched)', async (t) => {
  const root = makeTree(t, { 'prod/eu/web-01/host.yaml': '', 'prod/eu/web-02/host.yaml': '' });
  // A symlink loop inside a sibling host would be reported if the lookup read it.
  symlinkSync('loop.yaml', join(root, 'prod/eu/web-02/loop.yaml'));
  const s = await loadDesiredState(root, { host: 'web-01' });
  assert.equal(s.place, 'prod/eu/web-01');
  assert.deepEqual(brief((await validateTree(root)).issues), ['prod/eu/web-02/loop.yaml:1:1 FILE_UNREADABLE']);
});

test('a tree that is not a directory is refused with one issue', async (t) => {
  const root = makeTree(t, {});
  const issues = await issuesOf(loadDesiredState(join(root, 'missing'), { host: 'h1' }));
  assert.deepEqual(brief(issues), ['./:1:1 FILE_UNREADABLE']);
  assert.deepEqual(brief((await validateTree(join(root, 'missing'))).issues), ['./:1:1 FILE_UNREADABLE']);
});
