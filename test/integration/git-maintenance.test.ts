// The local clone stays bounded: 100 commits pushed one by one to a loopback
// git daemon, a sync after each. Every fetch adds a pack (the count climbs to
// the bound again and again), and maintenance brings it back down each time.
// bench/git-maintenance.ts measures 1,000 fetches with and without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GitSource } from '../../repo/git/git-source.ts';
import { GitDaemon, WorkRepo, missingGitServer, tempDir } from '../harness/git-servers.ts';
import { requireComponent } from '../harness/require.ts';

const packsIn = (cacheDir: string) => {
  const dir = join(cacheDir, 'repo.git', 'objects', 'pack');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.pack')).length : 0;
};

test('100 fetches: packs pile up to the bound and are repacked, never beyond it', { timeout: 300_000 }, async (t) => {
  if (!requireComponent(t, 'git daemon', missingGitServer('daemon'))) return;
  const root = tempDir('git-maint');
  const repo = new WorkRepo(join(root, 'srv', 'fleet.git'));
  const daemon = new GitDaemon(join(root, 'srv'));
  try {
    await daemon.start();
    repo.commit({ 'base.yaml': 'vars: {n: 0}\n' }, 'first');
    repo.push();
    const maxPacks = 8;
    // 100 keeps the test near a minute on a busy 2-core machine (~0.5 s a sync) and still repacks ~11 times.
    const fetches = 100;
    const kept = new GitSource({ repo: daemon.url('fleet.git'), ref: 'main', path: '.' }, { cacheDir: join(root, 'kept'), maintenance: { maxPacks } });
    let last: string | null = null;
    let worst = 0;
    let repacks = 0;
    for (let i = 1; i <= fetches; i++) {
      repo.commit({ 'base.yaml': `vars: {n: ${i}}\n`, [`hosts/h${i % 20}.yaml`]: `n: ${i}\n` }, `change ${i}`);
      repo.push();
      const before = packsIn(join(root, 'kept'));
      const snapshot = await kept.sync({ lastApplied: last });
      assert.equal(snapshot.revision, repo.git(['rev-parse', 'HEAD']), `sync ${i} is at the head`);
      await kept.prune([snapshot.revision]);
      last = snapshot.revision;
      await kept.idle();
      const now = packsIn(join(root, 'kept'));
      if (now < before) repacks++;
      worst = Math.max(worst, now);
    }
    const counts = await kept.objectCounts();
    t.diagnostic(`at most ${worst} packs; ${repacks} repacks; now ${counts.packs} packs + ${counts.loose} loose, ${counts.sizeBytes} B`);
    assert.equal(worst, maxPacks, 'packs pile up to the bound (one per fetch) and never beyond');
    assert.ok(repacks >= Math.floor(fetches / maxPacks) - 1, `${repacks} repacks`);
    assert.ok(counts.loose <= 1000);
    // The last good revision is still there after all the repacking.
    assert.equal((await kept.snapshot(last!)).revision, last);
  } finally {
    await daemon.stop();
    repo.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});
