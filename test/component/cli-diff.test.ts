// `gitfleet diff` as a user runs it in PR CI: a real Git repository with
// commits, the fleet in a subdirectory, revisions by name; text and JSON
// output, exit codes 0 (changes or not), 1 (a revision does not render, with
// file:line), 2 (usage, unknown revision), and the work tree left untouched.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Impact } from '../../repo/impact/types.ts';
import { gitfleet } from '../helpers/gitfleet-cli.ts';
import { writeTree } from './repo-fixture.ts';

const repo = mkdtempSync(join(tmpdir(), 'gitfleet-diff-cli-'));
after(() => rmSync(repo, { recursive: true, force: true }));
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' } }).trim();
const fleet = join(repo, 'fleet');

git('init', '-q', '-b', 'main');
writeTree(fleet, {
  'base.yaml': 'files:\n  /etc/motd:\n    content: "hi\\n"\n',
  'prod/eu/app.yaml': 'containers:\n  web:\n    image: nginx:1.25\n    network: host\n',
  'prod/us/app.yaml': 'containers:\n  web:\n    image: nginx:1.25\n    network: host\n',
  'prod/eu/eu-1/host.yaml': '',
  'prod/eu/eu-2/host.yaml': '',
  'prod/us/us-1/host.yaml': '',
});
writeTree(repo, { 'README.md': 'not part of the fleet\n' });
git('add', '-A');
git('commit', '-q', '-m', 'first');
const first = git('rev-parse', 'HEAD');
writeFileSync(join(fleet, 'prod/eu/app.yaml'), 'containers:\n  web:\n    image: nginx:1.27\n    network: host\n');
git('commit', '-q', '-am', 'eu: nginx 1.27');
git('tag', 'v2');
writeFileSync(join(repo, 'README.md'), 'only the readme\n');
git('commit', '-q', '-am', 'readme');
writeFileSync(join(fleet, 'prod/us/app.yaml'), 'containers:\n  web:\n    imagee: nginx:1.27\n');
git('commit', '-q', '-am', 'broken');
// An uncommitted edit in the work tree: diff reads revisions from Git, and must leave it alone.
writeFileSync(join(fleet, 'prod/eu/app.yaml'), 'work in progress\n');
const statusBefore = git('status', '--porcelain');

test('text: summary first, then resources, tags and each affected host with its field diff', async () => {
  const r = await gitfleet(['diff', '--from', first, '--to', 'v2', fleet]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], `${first.slice(0, 12)}..${git('rev-parse', 'v2').slice(0, 12)}: this change affects 2 of 3 hosts: prod/eu 2`);
  assert.equal(lines[1], 'per host: 1 container changed');
  assert.match(r.stdout, /~ container\/web changed on 2 hosts: image/);
  assert.match(r.stdout, /tags \(affected\/hosts\): prod 2\/3, prod\/eu 2\/2/);
  assert.match(r.stdout, /~ eu-1 \(prod\/eu\/eu-1\)\n {6}~ container\/web\n {10}image: "nginx:1\.25" → "nginx:1\.27"/);
  assert.doesNotMatch(r.stdout, /us-1/);
});

test('--json: the documented schema, from the checkout root or inside the fleet directory alike', async () => {
  const [fromRoot, inside] = await Promise.all([
    gitfleet(['diff', '--json', '--from', `${first}`, '--to', 'v2', '--repo', 'fleet'], { cwd: repo }),
    gitfleet(['diff', '--json', '--from', 'v2~1', '--to', 'v2'], { cwd: join(fleet, 'prod') }),
  ]);
  assert.equal(fromRoot.code, 0, fromRoot.stderr);
  const impact = JSON.parse(fromRoot.stdout) as Impact;
  assert.equal(impact.schema, 1);
  assert.equal(impact.from.revision, first);
  assert.equal(impact.to.revision, git('rev-parse', 'v2'));
  assert.deepEqual([impact.affected, impact.total, impact.from.hosts, impact.to.hosts], [2, 3, 3, 3]);
  assert.deepEqual(impact.groups, [{ tag: 'prod/eu', affected: 2, hosts: 2 }]);
  assert.deepEqual(impact.hosts.map((h) => [h.host, h.resources[0]?.fields]), [
    ['eu-1', [{ path: 'image', from: 'nginx:1.25', to: 'nginx:1.27' }]],
    ['eu-2', [{ path: 'image', from: 'nginx:1.25', to: 'nginx:1.27' }]],
  ]);
  // Run from a subdirectory of the fleet (prod/): the fleet tree is then prod/ itself, whose hosts are the same three.
  assert.equal(inside.code, 0, inside.stderr);
  assert.equal((JSON.parse(inside.stdout) as Impact).affected, 2);
});

test('a fleet at the top of its repository', async () => {
  const top = mkdtempSync(join(tmpdir(), 'gitfleet-diff-top-'));
  after(() => rmSync(top, { recursive: true, force: true }));
  const g = (...args: string[]) => execFileSync('git', args, { cwd: top, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' } });
  g('init', '-q', '-b', 'main');
  writeTree(top, { 'a/h1/host.yaml': '', 'a/h2/host.yaml': '', 'b/h3/host.yaml': '' });
  g('add', '-A');
  g('commit', '-q', '-m', 'one');
  writeTree(top, { 'b/app.yaml': 'units:\n  x.service:\n    content: "[Service]\\nExecStart=/bin/true\\n"\n' });
  g('add', '-A');
  g('commit', '-q', '-m', 'two');
  const r = await gitfleet(['diff', '--json', '--from', 'HEAD~1'], { cwd: top });
  assert.equal(r.code, 0, r.stderr);
  const impact = JSON.parse(r.stdout) as Impact;
  assert.deepEqual(impact.hosts.map((h) => [h.host, h.resources.map((x) => `${x.change} ${x.id}`)]), [['h3', ['added unit/x.service']]]);
});

test('a commit that changes nothing in the fleet: exit 0, no host', async () => {
  const r = await gitfleet(['diff', '--json', '--from', 'v2', '--to', 'v2~0^{commit}', fleet]);
  assert.equal(r.code, 0, r.stderr);
  const readmeOnly = await gitfleet(['diff', '--from', 'v2', '--to', 'HEAD~1', fleet]);
  assert.equal(readmeOnly.code, 0, readmeOnly.stderr);
  assert.match(readmeOnly.stdout, /: this change affects no host \(3 hosts compared\)\n$/);
  assert.equal((JSON.parse(r.stdout) as Impact).affected, 0);
});

test('a revision that does not render: exit 1 with each error at file:line (repo-relative) and which side', async () => {
  const r = await gitfleet(['diff', '--from', 'v2', fleet]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^fleet\/prod\/us\/app\.yaml:3:5 +[A-Z_]+ +.*imagee/m);
  assert.match(r.stderr, /gitfleet diff: the fleet tree does not render at --to [0-9a-f]{12}: \d+ error\(s\)\n$/);
});

test('usage: exit 2 with one line (no --from, unknown revision, option-like revision, not a checkout)', async () => {
  const outside = mkdtempSync(join(tmpdir(), 'gitfleet-diff-nogit-'));
  after(() => rmSync(outside, { recursive: true, force: true }));
  const cases = await Promise.all([
    gitfleet(['diff', fleet]),
    gitfleet(['diff', '--from', 'no-such-branch', fleet]),
    gitfleet(['diff', '--from=--output=/tmp/x', fleet]),
    gitfleet(['diff', '--from', 'HEAD', outside]),
    gitfleet(['diff', '--from', 'HEAD', '--bogus', fleet]),
  ]);
  const expected = [/--from is required/, /--from no-such-branch is not a commit of /, /--from --output=\/tmp\/x is not a commit/, /is not inside a Git checkout/, /unknown option --bogus/];
  cases.forEach((r, i) => {
    assert.equal(r.code, 2, `case ${i}: ${r.stderr}`);
    assert.match(r.stderr, expected[i]!);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});

test('the work tree, the index and the refs are untouched', () => {
  assert.equal(git('status', '--porcelain'), statusBefore);
  assert.equal(readFileSync(join(fleet, 'prod/eu/app.yaml'), 'utf8'), 'work in progress\n');
  assert.equal(git('stash', 'list'), '');
  assert.equal(git('worktree', 'list').split('\n').length, 1);
});
