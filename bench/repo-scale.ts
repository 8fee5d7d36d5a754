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

const runsArg = process.argv.indexOf('--runs');
const renderRuns = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 31;
const validateRuns = 5;

interface Shape {
  hosts: number;
  top: number;
  perTop: number;
}

/** `top` top-level tags, each with `perTop` sub-tags (top × (1 + perTop) tag directories), hosts spread round-robin over the sub-tags. */
function generate(root: string, shape: Shape): { lastHost: string; tagDirs: number } {
  const write = (rel: string, text: string) => {
    const full = join(root, rel);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, text);
  };
  write('base.yaml', 'vars:\n  owner: ops\nfiles:\n  /etc/gitfleet-demo/motd:\n    content: "${host} (${tags}) ${owner}\\n"\n');
  for (const cross of ['gpu', 'monitoring', 'edge', 'canary', 'debug']) {
    write(`tags/${cross}/${cross}.yaml`, `units:\n  gitfleet-${cross}.service:\n    content: "[Service]\\nExecStart=/bin/sleep infinity\\n"\n    state: running\n`);
  }
  const leaves: string[] = [];
  for (let t = 0; t < shape.top; t++) {
    const top = `env-${t}`;
    write(`${top}/env.yaml`, `vars:\n  env: ${top}\ndefaults:\n  drift: correct\ncontainers:\n  metrics:\n    image: local/busybox:1\n    command: ["httpd", "-f", "-p", "9100", "-h", "/www"]\n    network: host\n    labels: { env: "\${env}" }\n`);
    for (let s = 0; s < shape.perTop; s++) {
      const leaf = `${top}/site-${s}`;
      leaves.push(leaf);
      write(`${leaf}/site.yaml`, `vars:\n  site: site-${s}\n  port: ${8000 + s}\ncontainers:\n  web:\n    image: local/busybox:1\n    command: ["httpd", "-f", "-p", "\${port}", "-h", "/www"]\n    network: host\n    env: { SITE: "\${site}", HOST: "\${host}" }\n    depends_on: [file//etc/gitfleet-demo/motd]\n`);
    }
  }
  let lastHost = '';
  for (let h = 0; h < shape.hosts; h++) {
    const id = `host-${String(h).padStart(5, '0')}`;
    const dir = `${leaves[h % leaves.length]}/${id}`;
    const cross = h % 3 === 0 ? 'tags: [monitoring]\n' : h % 3 === 1 ? 'tags: [gpu, edge]\n' : '';
    write(`${dir}/host.yaml`, `${cross}vars:\n  rack: r${h % 40}\n`);
    if (h % 10 === 0) write(`${dir}/extra.yaml`, `files:\n  /srv/gitfleet-demo/${id}.txt:\n    content: "rack \${rack}\\n"\n    notify: [container/web]\n`);
    lastHost = id;
  }
  return { lastHost, tagDirs: shape.top * (1 + shape.perTop) };
}


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
  const shapes: Record<string, Shape> = {
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
