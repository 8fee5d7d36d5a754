// The impact preview reads revisions from Git: an export of one commit,
// patched into the next with only the changed paths, must be exactly a fresh
// export of the next (files, contents, symlinks, no directory Git does not
// have), for additions, edits, deletions of whole directories and a symlink
// replaced by a directory; and a big change falls back to a whole export.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { advanceTree, exportTree, locateCheckout, resolveCommit, treeChanges } from '../../repo/impact/revision-tree.ts';
import { writeTree } from './repo-fixture.ts';

const repo = mkdtempSync(join(tmpdir(), 'gitfleet-revtree-'));
after(() => rmSync(repo, { recursive: true, force: true }));
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' } }).trim();
const commitAll = (message: string) => {
  git('add', '-A');
  git('commit', '-q', '-m', message);
  return git('rev-parse', 'HEAD');
};

/** Every entry below `root`: path → 'dir', 'file:CONTENT' or 'link:TARGET'. */
function listing(root: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(root, rel)).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const st = lstatSync(join(root, path));
    if (st.isSymbolicLink()) out[path] = `link:${readlinkSync(join(root, path))}`;
    else if (st.isDirectory()) Object.assign(out, { [path]: 'dir' }, listing(root, path));
    else out[path] = `file:${readFileSync(join(root, path), 'utf8')}`;
  }
  return out;
}

git('init', '-q', '-b', 'main');
writeTree(repo, {
  'fleet/base.yaml': 'a\n',
  'fleet/prod/eu/web-01/host.yaml': '',
  'fleet/prod/eu/web-02/host.yaml': '',
  'fleet/prod/old/gone-01/host.yaml': '',
  'fleet/prod/old/gone-01/app.yaml': 'x\n',
  'fleet/shared/real.yaml': 'real\n',
  'outside.txt': 'not the fleet\n',
});
mkdirSync(join(repo, 'fleet/links'), { recursive: true });
symlinkSync('../shared', join(repo, 'fleet/links/shared'));
const first = commitAll('one');
writeTree(repo, { 'fleet/base.yaml': 'b\n', 'fleet/prod/us/web-03/host.yaml': 'tags: [x]\n', 'outside.txt': 'changed\n' });
rmSync(join(repo, 'fleet/prod/old'), { recursive: true });
unlinkSync(join(repo, 'fleet/links/shared'));
writeTree(repo, { 'fleet/links/shared/now-a-dir.yaml': 'dir\n' });
const second = commitAll('two');

test('an export patched with the changes is exactly a fresh export of the next commit', async () => {
  const checkout = (await locateCheckout(join(repo, 'fleet')))!;
  assert.equal(checkout.prefix, 'fleet/');
  const [from, to] = [(await resolveCommit(checkout, first))!, (await resolveCommit(checkout, second))!];
  const changes = await treeChanges(checkout, from, to);
  assert.deepEqual(changes.map((c) => `${c.status} ${c.path}`), [
    'M base.yaml',
    'D links/shared',
    'A links/shared/now-a-dir.yaml',
    'D prod/old/gone-01/app.yaml',
    'D prod/old/gone-01/host.yaml',
    'A prod/us/web-03/host.yaml',
  ]);
  const patched = await exportTree(checkout, from);
  const fresh = await exportTree(checkout, to);
  try {
    assert.equal(listing(patched.dir)['links/shared'], 'link:../shared');
    await advanceTree(checkout, patched.dir, to, changes);
    assert.deepEqual(listing(patched.dir), listing(fresh.dir));
    assert.equal(listing(patched.dir)['prod/old'], undefined, 'a directory emptied by the change is gone, as in Git');
    assert.equal(listing(patched.dir)['outside.txt'], undefined);
  } finally {
    await patched.remove();
    await fresh.remove();
  }
});

test('a change over the patch limit, and a change back, still give exact exports', async () => {
  const checkout = (await locateCheckout(repo))!;
  const files: Record<string, string> = {};
  for (let i = 0; i < 2100; i++) files[`fleet/many/h-${i}/host.yaml`] = '';
  writeTree(repo, files);
  const third = commitAll('many');
  const [from, to] = [(await resolveCommit(checkout, first))!, (await resolveCommit(checkout, third))!];
  const changes = await treeChanges(checkout, from, to);
  assert.ok(changes.length > 2000);
  const patched = await exportTree(checkout, from);
  const fresh = await exportTree(checkout, to);
  try {
    await advanceTree(checkout, patched.dir, to, changes);
    assert.deepEqual(listing(patched.dir), listing(fresh.dir));
    await advanceTree(checkout, patched.dir, from, await treeChanges(checkout, to, from));
    const back = await exportTree(checkout, from);
    try {
      assert.deepEqual(listing(patched.dir), listing(back.dir));
    } finally {
      await back.remove();
    }
  } finally {
    await patched.remove();
    await fresh.remove();
  }
});
