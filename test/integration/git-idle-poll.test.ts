// What an idle agent's poll costs in git processes (issue 18, footprint): once
// the clone was opened and the head found in it, a poll of the same head runs
// `git ls-remote` only — and anything that touches the clone (damage, a new
// head) still makes git look at it again, with the re-clone it always had.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { GitSource } from '../../repo/git/index.ts';
import { WorkRepo, tempDir } from '../harness/git-servers.ts';

const root = tempDir('git-idle-poll');
after(() => rmSync(root, { recursive: true, force: true }));

test('a poll of an unchanged head runs ls-remote only; damage or a new head brings git back to the clone', async () => {
  const work = new WorkRepo(join(root, 'srv', 'fleet.git'));
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
  const source = new GitSource({ repo: work.bare, ref: 'main', path: 'hosts' }, { cacheDir: join(root, 'cache'), logger, maintenance: false });
  /** The git commands the source ran since the last call, by name. */
  const gits = () => lines.splice(0).map((l) => JSON.parse(l) as { msg: string; git?: string; err?: string }).filter((e) => e.msg === 'git').map((e) => e.git);
  const recloned = () => lines.some((l) => l.includes('local clone is corrupt'));

  const first = work.commit({ 'hosts/web-01/host.yaml': '{}\n' }, 'c1');
  work.push();
  const s1 = await source.sync({ lastApplied: null });
  assert.equal(s1.revision, first);
  const firstGits = gits();
  assert.ok(firstGits.includes('fetch') && firstGits.includes('rev-parse'), `the first sync opens the clone and fetches: ${firstGits.join(' ')}`);

  for (let poll = 0; poll < 3; poll++) {
    assert.equal((await source.sync({ lastApplied: first })).revision, first);
    assert.deepEqual(gits(), ['ls-remote'], `poll ${poll + 1} of an unchanged head`);
  }

  // Damage the clone: git is asked again, finds it, and the clone is rebuilt.
  const repo = join(root, 'cache', 'repo.git');
  writeFileSync(join(repo, 'HEAD'), 'garbage\n');
  writeFileSync(join(repo, 'config'), '[[[ not a config\n');
  assert.equal((await source.sync({ lastApplied: first })).revision, first);
  assert.ok(recloned(), 'the damaged clone was noticed and rebuilt');
  gits();
  assert.equal((await source.sync({ lastApplied: first })).revision, first);
  assert.deepEqual(gits(), ['ls-remote'], 'the rebuilt clone, opened once, is trusted again');

  // A new head is looked for in the clone, fetched and checked for ancestry.
  const second = work.commit({ 'hosts/web-02/host.yaml': '{}\n' }, 'c2');
  work.push();
  assert.equal((await source.sync({ lastApplied: first })).revision, second);
  const newHead = gits();
  assert.ok(newHead.includes('cat-file') && newHead.includes('fetch') && newHead.includes('merge-base'), `a new head: ${newHead.join(' ')}`);
  assert.equal((await source.sync({ lastApplied: second })).revision, second);
  assert.deepEqual(gits(), ['ls-remote']);
  work.dispose();
});
