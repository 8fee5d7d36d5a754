// The cost of the host policy per revision (issue 14) next to the render of
// the same revision, side by side in one run: a host with 1,000 resources
// (400 containers, 300 units, 300 files) spread over 4 layers, each layer with
// a policy.yaml that narrows the shipped baseline. "render" is what the agent
// does for every revision anyway (loadDesiredState); "policy" is what the admit
// phase adds (the host policy file read and parsed, the repo's policy.yaml
// files read and narrowed, every resource evaluated).
//   node --import tsx bench/policy.ts [--runs N]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadDesiredState } from '../repo/tree/index.ts';
import { HostPolicy } from '../agent/policy/host-policy.ts';
import { evaluatePolicy } from '../shared/policy/index.ts';
import { median } from './stats.ts';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 31;
const project = resolve(import.meta.dirname, '..');
const root = mkdtempSync(join(tmpdir(), 'gf-bench-policy-'));
const tree = join(root, 'fleet');

function write(rel: string, text: string): void {
  const full = join(rel.startsWith('/') ? '' : tree, rel);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
}

// 4 layers: root, prod, prod/eu, the host; 250 resources each.
const layers = ['', 'prod', 'prod/eu', 'prod/eu/web-01'];
layers.forEach((dir, l) => {
  const lines: string[] = ['containers:'];
  for (let i = 0; i < 100; i++) {
    lines.push(`  c${l}-${i}:`, '    image: local/busybox:1', '    command: ["sleep", "3600"]', '    network: none', `    volumes: ["/srv/data/${l}-${i}:/data:ro", "cache-${i}:/cache"]`, '    cap_add: [NET_BIND_SERVICE]', '    user: "1000"');
  }
  lines.push('units:');
  for (let i = 0; i < 75; i++) {
    lines.push(`  u${l}-${i}.service:`, '    content: |', '      [Service]', '      User=nobody', `      ExecStartPre=/usr/bin/test -d /srv/u${i}`, '      ExecStart=/usr/local/bin/app --id ' + String(i), '      [Install]', '      WantedBy=multi-user.target');
  }
  lines.push('files:');
  for (let i = 0; i < 75; i++) lines.push(`  /srv/app/l${l}/f${i}.conf:`, `    content: "key = ${'v'.repeat(200)}\\n"`);
  write(`${dir ? `${dir}/` : ''}layer.yaml`, `${lines.join('\n')}\n`);
  write(`${dir ? `${dir}/` : ''}policy.yaml`, `files:\n  deny: ["/srv/app/l${l}/secret*"]\ncontainers:\n  max: ${1000 - l}\n`);
});
write('prod/eu/web-01/host.yaml', '');
const hostPolicyFile = join(root, 'policy.yaml');
// The baseline, with room for this host's 400 containers and 300 units.
writeFileSync(hostPolicyFile, readFileSync(join(project, 'packaging/policy.yaml'), 'utf8').replaceAll('max: 200', 'max: 2000'));

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const value = await fn();
  return [performance.now() - t0, value];
}

const state = await loadDesiredState(tree, { host: 'web-01' });
if (state.resources.length !== 1000) throw new Error(`expected 1,000 resources, got ${state.resources.length}`);
const policy = new HostPolicy({ path: hostPolicyFile, filesAllow: ['/etc', '/srv', '/opt'] });
await policy.admit(state, tree); // compliant: the full evaluation runs, nothing is refused

const render: number[] = [];
const admit: number[] = [];
const evaluateOnly: number[] = [];
const steady: number[] = [];
const effective = await policy.effective(state, tree);
for (let i = 0; i < runs; i++) {
  // Interleaved, so both see the same machine load.
  render.push((await time(() => loadDesiredState(tree, { host: 'web-01' })))[0]);
  // A fresh HostPolicy each run: the host file is read and parsed as on a policy change (the worst case).
  admit.push((await time(() => new HostPolicy({ path: hostPolicyFile, filesAllow: ['/etc', '/srv', '/opt'] }).admit(state, tree)))[0]);
  // The steady state: the same HostPolicy, its file unchanged since the last pass (re-read, not re-parsed).
  steady.push((await time(() => policy.admit(state, tree)))[0]);
  evaluateOnly.push((await time(() => Promise.resolve(evaluatePolicy(effective.policy, state))))[0]);
}
const r = median(render);
const a = median(admit);
const e = median(evaluateOnly);
const st = median(steady);
console.log(`host with ${state.resources.length} resources in ${layers.length} layers, each with a policy.yaml; ${runs} runs, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`);
console.log(`render (loadDesiredState)                       median ${r.toFixed(2)} ms`);
console.log(`policy admit (host file + 4 repo files + check)  median ${a.toFixed(2)} ms  = ${((a / r) * 100).toFixed(1)}% of the render`);
console.log(`policy admit, host file unchanged (steady)     median ${st.toFixed(2)} ms  = ${((st / r) * 100).toFixed(1)}% of the render`);
console.log(`  of which the check of 1,000 resources          median ${e.toFixed(2)} ms  = ${((e / r) * 100).toFixed(1)}% of the render`);
rmSync(root, { recursive: true, force: true });
