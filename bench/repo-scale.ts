// Scale of the fleet tree loader: validate a 10,000-host tree, and render one
// host of it next to one host of a 100-host tree with the same 200 tag
// directories (and of a small 100-host tree with 2), measured side by side in
// this run. Goals (issue 2): render ≤ 50 ms and independent of fleet size;
// validate 10,000 hosts ≤ 10 s on 2 cores.
//   node --import tsx bench/repo-scale.ts [--runs N]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadDesiredState, validateTree } from '../repo/tree/index.ts';
import { median } from './stats.ts';
import { generateFleetTree } from './fleet-tree.ts';
import type { TreeShape } from './fleet-tree.ts';

const runsArg = process.argv.indexOf('--runs');
const renderRuns = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 31;
const validateRuns = 5;

/** The scale tree with a layer of its own on every tenth host (bench/fleet-tree.ts). */
const generate = (root: string, shape: TreeShape) => generateFleetTree(root, shape, { extras: true });


/** CPU time (user + system) of this process, in ms: less disturbed than wall time when other work shares the machine. */
const cpuSamples = new Map<number[], number[]>();

async function time(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  cpuSamples.set(out, cpu);
  return out;
}

const cpuOf = (wall: number[]) => median(cpuSamples.get(wall) ?? [NaN]);

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

const base = mkdtempSync(join(tmpdir(), 'gitfleet-bench-'));
try {
  const shapes: Record<string, TreeShape> = {
    big: { hosts: 10_000, top: 10, perTop: 19 },
    same_tags: { hosts: 100, top: 10, perTop: 19 },
    small: { hosts: 100, top: 1, perTop: 1 },
  };
  const trees: Record<string, { root: string; lastHost: string; tagDirs: number }> = {};
  const genStart = performance.now();
  for (const [name, shape] of Object.entries(shapes)) {
    const root = join(base, name);
    trees[name] = { root, ...generate(root, shape) };
  }
  process.stdout.write(`generated 3 trees in ${fmt(performance.now() - genStart)} (${cpus().length} CPUs, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)})\n`);

  // Sanity: the trees are valid and a host renders with the expected resources.
  for (const [name, t] of Object.entries(trees)) {
    const s = await loadDesiredState(t.root, { host: t.lastHost });
    if (s.resources.length < 3) throw new Error(`${name}: ${t.lastHost} rendered only ${s.resources.length} resources`);
  }

  // Interleave the render runs so that machine load hits all trees alike.
  const render: Record<string, number[]> = { big: [], same_tags: [], small: [] };
  const renderCpu: Record<string, number[]> = { big: [], same_tags: [], small: [] };
  for (let i = 0; i < renderRuns; i++) {
    for (const name of Object.keys(render)) {
      const wall = await time(1, () => loadDesiredState(trees[name]!.root, { host: trees[name]!.lastHost }));
      render[name]!.push(...wall);
      renderCpu[name]!.push(...(cpuSamples.get(wall) ?? []));
    }
  }
  const rows: [string, string][] = [];
  for (const [name, xs] of Object.entries(render)) {
    const t = trees[name]!;
    rows.push([`render one host, ${shapes[name]!.hosts} hosts / ${t.tagDirs} tag dirs`, `median ${fmt(median(xs))}  cpu ${fmt(median(renderCpu[name]!))}  (min ${fmt(Math.min(...xs))}, ${xs.length} runs)`]);
  }
  const ratio = median(render.big!) / median(render.same_tags!);
  const ratioSmall = median(render.big!) / median(render.small!);
  rows.push(['render ratio 10,000 / 100 hosts (same tag dirs)', `${ratio.toFixed(2)}× wall, ${(median(renderCpu.big!) / median(renderCpu.same_tags!)).toFixed(2)}× cpu`]);
  rows.push(['render ratio 10,000 hosts / 100 hosts with 2 tag dirs', `${ratioSmall.toFixed(2)}×`]);

  const validate = await time(validateRuns, async () => {
    const s = await validateTree(trees.big!.root);
    if (s.issues.length > 0 || s.hosts.length !== 10_000) throw new Error(`validate: ${s.issues.length} issues, ${s.hosts.length} hosts`);
  });
  const validateSmall = await time(validateRuns, () => validateTree(trees.same_tags!.root));
  rows.push([`validate 10,000 hosts`, `median ${fmt(median(validate))}  cpu ${fmt(cpuOf(validate))}  (min ${fmt(Math.min(...validate))}, ${validateRuns} runs)`]);
  rows.push([`validate 100 hosts (same tag dirs)`, `median ${fmt(median(validateSmall))}  cpu ${fmt(cpuOf(validateSmall))}`]);
  rows.push(['validate per host (10,000)', `${((median(validate) / 10_000) * 1000).toFixed(0)} µs`]);

  // An alias bomb (10 levels of 9 aliases: 9^10 nodes if expanded) must be refused fast.
  let bomb = 'vars:\n  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 1; i < 10; i++) bomb += `  a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]\n`;
  const bombTree = join(base, 'bomb');
  mkdirSync(join(bombTree, 'site/h1'), { recursive: true });
  writeFileSync(join(bombTree, 'site/h1/host.yaml'), '');
  writeFileSync(join(bombTree, 'site/bomb.yaml'), bomb);
  const bombTimes = await time(renderRuns, () => loadDesiredState(bombTree, { host: 'h1' }).then(() => { throw new Error('the alias bomb loaded'); }, (e: unknown) => e));
  rows.push(['alias bomb refused (YAML_ALIAS_LIMIT)', `median ${fmt(median(bombTimes))}`]);

  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
  const goals = [
    [`render ≤ 50 ms`, median(render.big!) <= 50],
    [`validate 10,000 hosts ≤ 10 s`, median(validate) <= 10_000],
  ] as const;
  for (const [goal, met] of goals) process.stdout.write(`goal ${goal}: ${met ? 'met' : 'NOT met'}\n`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
