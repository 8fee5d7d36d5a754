// Fleet-size scaling of the impact preview (issue 16): `gitfleet diff` between
// two commits of a 10,000-host repo and of a 100-host repo with the same 200
// tag directories, measured side by side in this run, plus `gitfleet
// validate` of the 10,000-host tree as the floor (diff renders the tree twice),
// and, in process as the hub does it, the longest event-loop stall meanwhile.
// The change bumps one top-level tag's container image (1,007 hosts at 10,000;
// 19 at 100) and adds a file to one of them. Runs the built bundle (npm run build).
//   node --import tsx bench/diff-scale.ts [--runs N]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { computeImpact } from '../repo/impact/compute-impact.ts';
import { renderTree } from '../repo/impact/render-tree.ts';
import { advanceTree, exportTree, locateCheckout, resolveCommit, treeChanges } from '../repo/impact/revision-tree.ts';
import { median } from './stats.ts';
import { envLayer, generateFleetTree } from './fleet-tree.ts';
import type { TreeShape } from './fleet-tree.ts';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const bundle = resolve(import.meta.dirname, '../bin/gitfleet.mjs');

/** The scale tree of bench/repo-scale.ts without its per-host layers (bench/fleet-tree.ts). */
const generate = (root: string, shape: TreeShape) => generateFleetTree(root, shape, { extras: false });

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@example.com' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();

/** A Git repo with the tree, then a commit that bumps env-0's image and adds a file to host-00001. */
function makeRepo(root: string, shape: TreeShape): void {
  mkdirSync(root, { recursive: true });
  git(root, 'init', '-q', '-b', 'main');
  generate(root, shape);
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'fleet');
  writeFileSync(join(root, 'env-0/env.yaml'), envLayer('env-0', 'local/busybox:2'));
  const host1 = execFileSync('git', ['ls-files', '*/host-00001/host.yaml'], { cwd: root, encoding: 'utf8' }).trim().replace(/\/host\.yaml$/, '');
  writeFileSync(join(root, host1, 'extra.yaml'), 'files:\n  /srv/extra.txt:\n    content: "rack ${rack}\\n"\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'bump env-0, a file on host-00001');
}

/**
 * Wall and CPU time (user + system, from /usr/bin/time) of one run of the bundle:
 * on a shared machine the CPU time is the steadier number.
 */
function timeCli(args: string[]): { ms: number; cpuMs: number; stdout: string } {
  const t0 = performance.now();
  const timed = existsSync('/usr/bin/time');
  const argv = [process.execPath, bundle, ...args];
  const r = timed ? spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', ...argv], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 }) : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`gitfleet ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { ms, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : NaN, stdout: r.stdout };
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

const base = mkdtempSync(join(tmpdir(), 'gitfleet-bench-diff-'));
try {
  const shapes: Record<string, TreeShape> = { big: { hosts: 10_000, top: 10, perTop: 19 }, small: { hosts: 100, top: 10, perTop: 19 } };
  const genStart = performance.now();
  for (const [name, shape] of Object.entries(shapes)) makeRepo(join(base, name), shape);
  process.stdout.write(`generated and committed 2 repos in ${fmt(performance.now() - genStart)} (${cpus().length} CPUs, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)})\n`);

  // Sanity: the change affects env-0's hosts (a tenth) at both sizes.
  for (const [name, shape] of Object.entries(shapes)) {
    const impact = JSON.parse(timeCli(['diff', '--json', '--from', 'HEAD~1', join(base, name)]).stdout) as { affected: number; total: number };
    // Hosts go round-robin over the leaves; env-0 holds the first perTop of them (host-00001 is one of its hosts).
    const expected = Array.from({ length: shape.hosts }, (_, h) => h % (shape.top * shape.perTop)).filter((leaf) => leaf < shape.perTop).length;
    if (impact.total !== shape.hosts || impact.affected !== expected) throw new Error(`${name}: affected ${impact.affected} of ${impact.total}, expected ${expected} of ${shape.hosts}`);
  }

  // Interleaved, so machine load hits both sizes alike.
  const diff: Record<string, number[]> = { big: [], small: [] };
  const diffCpu: Record<string, number[]> = { big: [], small: [] };
  const validate: number[] = [];
  const validateCpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const name of Object.keys(diff)) {
      const r = timeCli(['diff', '--json', '--from', 'HEAD~1', join(base, name)]);
      diff[name]!.push(r.ms);
      diffCpu[name]!.push(r.cpuMs);
    }
    const v = timeCli(['validate', join(base, 'big')]);
    validate.push(v.ms);
    validateCpu.push(v.cpuMs);
  }
  const textBig = timeCli(['diff', '--from', 'HEAD~1', join(base, 'big')]);
  const m = (xs: number[]) => median(xs);
  const rows: [string, string][] = [
    ['gitfleet diff --json, 10,000 hosts (1,007 affected)', `median ${fmt(m(diff.big!))} wall, ${fmt(m(diffCpu.big!))} cpu  (min ${fmt(Math.min(...diff.big!))}, ${runs} runs)`],
    ['gitfleet diff --json, 100 hosts (19 affected)', `median ${fmt(m(diff.small!))} wall, ${fmt(m(diffCpu.small!))} cpu  (min ${fmt(Math.min(...diff.small!))}, ${runs} runs)`],
    ['ratio 10,000 / 100 hosts (hosts ×100)', `${(m(diff.big!) / m(diff.small!)).toFixed(1)}× wall, ${(m(diffCpu.big!) / m(diffCpu.small!)).toFixed(1)}× cpu`],
    ['cpu per host above the 100-host run', `${(((m(diffCpu.big!) - m(diffCpu.small!)) / 9_900) * 1000).toFixed(0)} µs`],
    ['baseline: gitfleet validate, 10,000 hosts', `median ${fmt(m(validate))} wall, ${fmt(m(validateCpu))} cpu  (diff / validate: ${(m(diffCpu.big!) / m(validateCpu)).toFixed(2)}× cpu; diff renders both revisions)`],
    ['gitfleet diff (text), 10,000 hosts', `${fmt(textBig.ms)} wall, ${fmt(textBig.cpuMs)} cpu, ${textBig.stdout.split('\n').length} lines`],
  ];
  // What the hub does for a new head (hub/git/impact-cache.ts), in this process: how long the event loop
  // is held at most while both revisions are rendered and compared (agents and API calls wait that long).
  const checkout = (await locateCheckout(join(base, 'big')))!;
  const [from, to] = [(await resolveCommit(checkout, 'HEAD~1'))!, (await resolveCommit(checkout, 'HEAD'))!];
  const changes = await treeChanges(checkout, from, to);
  const exported = await exportTree(checkout, from);
  try {
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const t0 = performance.now();
    const before = await renderTree(exported.dir);
    await advanceTree(checkout, exported.dir, to, changes);
    const after = await renderTree(exported.dir);
    const impact = await computeImpact({ from: { revision: from, tree: before }, to: { revision: to, tree: after } });
    const took = performance.now() - t0;
    lag.disable();
    if (impact.affected !== 1007) throw new Error(`in-process impact: ${impact.affected} affected`);
    rows.push(['in process (as the hub): render both + compare, 10,000 hosts', `${fmt(took)}; longest event-loop stall ${fmt(lag.max / 1e6)}, p99 ${fmt(lag.percentile(99) / 1e6)}`]);
  } finally {
    await exported.remove();
  }
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
