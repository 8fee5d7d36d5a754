// Benchmark: the local clone after many fetches, with the source's maintenance
// (repo/git/maintenance.ts) and without it (maintenance: false, the behaviour
// before it existed), side by side in one run: commits pushed one by one to a
// loopback git daemon, both sources syncing after each.
//   node --import tsx bench/git-maintenance.ts [--fetches 1000] [--max-packs 16]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GitSource } from '../repo/git/git-source.ts';
import { GitDaemon, WorkRepo, tempDir } from '../test/harness/git-servers.ts';
import { median } from './stats.ts';

const { values } = parseArgs({ options: { fetches: { type: 'string', default: '1000' }, 'max-packs': { type: 'string', default: '16' } } });
const fetches = Number(values.fetches);
const maxPacks = Number(values['max-packs']);
const checkpoints = new Set([10, 100, 250, 500, 750, fetches]);

const root = tempDir('bench-git-maint');
const repo = new WorkRepo(join(root, 'srv', 'fleet.git'));
const daemon = new GitDaemon(join(root, 'srv'));

const packs = (cacheDir: string) => {
  const dir = join(cacheDir, 'repo.git', 'objects', 'pack');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.pack')).length : 0;
};
const du = (path: string) => Number(execFileSync('du', ['-sk', path], { encoding: 'utf8' }).split('\t')[0]) * 1024;
const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;

interface Side {
  name: string;
  cacheDir: string;
  source: GitSource;
  last: string | null;
  syncMs: number[];
  /** Time the queued work after each sync took (maintenance's count, and gc when due). */
  afterMs: number[];
  /** The same, for the syncs after which the pack count fell: a gc ran. */
  gcMs: number[];
}

function side(name: string, maintenance: false | { maxPacks: number }): Side {
  const cacheDir = join(root, name);
  return { name, cacheDir, source: new GitSource({ repo: daemon.url('fleet.git'), ref: 'main', path: '.' }, { cacheDir, maintenance }), last: null, syncMs: [], afterMs: [], gcMs: [] };
}

async function main(): Promise<void> {
  await daemon.start();
  repo.commit({ 'base.yaml': 'vars: {n: 0}\n' }, 'first');
  repo.push();
  const sides = [side('with', { maxPacks }), side('without', false)];
  console.log(`${fetches} fetches, one commit pushed before each (git daemon on loopback); maintenance: gc when packs > ${maxPacks} or loose > 1000\n`);
  console.log('fetches   packs with / without   clone on disk with / without   ratio');
  const t0 = performance.now();
  for (let i = 1; i <= fetches; i++) {
    repo.commit({ 'base.yaml': `vars: {n: ${i}}\n`, [`hosts/h${i % 50}.yaml`]: `n: ${i}\nnote: ${'x'.repeat(i % 200)}\n` }, `change ${i}`);
    repo.push();
    for (const s of sides) {
      const packsBefore = packs(s.cacheDir);
      const a = performance.now();
      const snap = await s.source.sync({ lastApplied: s.last });
      const b = performance.now();
      await s.source.prune([snap.revision]);
      await s.source.idle();
      s.syncMs.push(b - a);
      s.afterMs.push(performance.now() - b);
      if (packs(s.cacheDir) < packsBefore) s.gcMs.push(performance.now() - b);
      s.last = snap.revision;
    }
    if (checkpoints.has(i)) {
      const [w, wo] = sides.map((s) => ({ packs: packs(s.cacheDir), size: du(join(s.cacheDir, 'repo.git')) })) as [{ packs: number; size: number }, { packs: number; size: number }];
      console.log(`${String(i).padStart(7)}   ${String(w.packs).padStart(5)} / ${String(wo.packs).padEnd(12)}${kib(w.size).padStart(10)} / ${kib(wo.size).padEnd(17)}${(w.size / wo.size).toFixed(2)}`);
    }
  }
  console.log(`\n(${((performance.now() - t0) / 1000).toFixed(0)} s in all)`);
  for (const s of sides) {
    const counts = await s.source.objectCounts();
    const gcs = s.gcMs;
    console.log(`${s.name.padEnd(8)} sync median ${median(s.syncMs).toFixed(0)} ms; after-sync work median ${median(s.afterMs).toFixed(1)} ms` +
      `, ${gcs.length} gc runs${gcs.length ? ` (median ${median(gcs).toFixed(0)} ms, max ${Math.max(...gcs).toFixed(0)} ms)` : ''}` +
      `; end: ${counts.packs} packs, ${counts.loose} loose, ${kib(counts.sizeBytes)} of objects`);
  }
  const [w, wo] = sides as [Side, Side];
  console.log(`sync median ratio with/without: ${(median(w.syncMs) / median(wo.syncMs)).toFixed(2)}`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    await daemon.stop();
    repo.dispose();
    rmSync(root, { recursive: true, force: true });
  });
