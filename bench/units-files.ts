// Side-by-side baselines for converging 5 systemd units + 5 files on a real
// systemd host (issue 4's goals: converge ≤ 1.5× the floor, no-op ≤ 50 ms,
// ≥ 20× faster than ansible on the no-op). Run:
//   node --import tsx bench/units-files.ts [--runs N]
// It boots one nspawn host (test/harness/nspawn.ts) and measures, interleaved
// in one run, medians of:
//   floor          one shell: 5 unit files + 5 files written, one daemon-reload, `enable --now`
//   ansible        `ansible-playbook -c local` doing the same from nothing (Debian's ansible-core)
//   ansible no-op  the same playbook re-run on a converged host
// The agent's own numbers go next to these: the functions are exported, and
// `benchUnits`/`benchFiles`/`resetHost` define the same workload for it.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../test/harness/nspawn.ts';
import { median } from './stats.ts';
import { engineScriptStart, runEngineScript } from './in-host-engine.ts';

export const benchUnits = Array.from({ length: 5 }, (_, i) => ({
  name: `gf-bench-${i + 1}.service`,
  content: `[Unit]\nDescription=gitfleet bench ${i + 1}\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n`,
}));
export const benchFiles = Array.from({ length: 5 }, (_, i) => ({
  path: `/etc/gf-bench/file-${i + 1}.conf`,
  content: `setting = ${i + 1}\n`,
  mode: '0644',
}));

async function mustExec(host: SystemdHost, argv: string[], input?: string): Promise<string> {
  const r = await host.exec(argv, { timeoutMs: 300_000, ...(input === undefined ? {} : { input }) });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}\n${r.stdout.slice(-2000)}`);
  return r.stdout;
}

/** Back to nothing: the bench units stopped, disabled and deleted, the files gone, systemd reloaded. Untimed. */
export async function resetHost(host: SystemdHost): Promise<void> {
  const names = benchUnits.map((u) => u.name);
  await host.exec(['systemctl', 'disable', '--now', ...names]);
  await mustExec(host, ['rm', '-rf', ...names.map((n) => `/etc/systemd/system/${n}`), '/etc/gf-bench']);
  await mustExec(host, ['systemctl', 'daemon-reload']);
  await host.exec(['systemctl', 'reset-failed']);
}

// Values go in as positional arguments ($1…), never into the script text.
const floorScript = [
  'set -e',
  'mkdir -p /etc/gf-bench',
  'i=1; while [ $i -le 5 ]; do printf "%s" "$1" > "/etc/systemd/system/gf-bench-$i.service"; printf "setting = %s\\n" "$i" > "/etc/gf-bench/file-$i.conf"; i=$((i+1)); done',
  'systemctl daemon-reload',
  'systemctl enable --now gf-bench-1.service gf-bench-2.service gf-bench-3.service gf-bench-4.service gf-bench-5.service 2>/dev/null',
].join('\n');

/** ms for the floor, from nothing (resets the host first, untimed). */
export async function measureFloor(host: SystemdHost): Promise<number> {
  await resetHost(host);
  const unitTemplate = benchUnits[0]!.content.replace('bench 1', 'bench');
  const started = performance.now();
  await mustExec(host, ['sh', '-c', floorScript, 'floor', unitTemplate]);
  return performance.now() - started;
}

const playbook = `- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: unit files
      ansible.builtin.copy:
        dest: "/etc/systemd/system/{{ item.name }}"
        content: "{{ item.content }}"
        mode: "0644"
      loop: ${JSON.stringify(benchUnits)}
    - name: directory
      ansible.builtin.file:
        path: /etc/gf-bench
        state: directory
        mode: "0755"
    - name: files
      ansible.builtin.copy:
        dest: "{{ item.path }}"
        content: "{{ item.content }}"
        mode: "{{ item.mode }}"
      loop: ${JSON.stringify(benchFiles)}
    - name: reload
      ansible.builtin.systemd:
        daemon_reload: true
    - name: units
      ansible.builtin.systemd:
        name: "{{ item.name }}"
        enabled: true
        state: started
      loop: ${JSON.stringify(benchUnits.map((u) => ({ name: u.name })))}
`;

async function runPlaybook(host: SystemdHost): Promise<{ ms: number; changed: number }> {
  await mustExec(host, ['mkdir', '-p', '/root/gf-bench']);
  await mustExec(host, ['tee', '/root/gf-bench/playbook.yml'], playbook);
  const started = performance.now();
  const out = await mustExec(host, ['env', 'ANSIBLE_NOCOLOR=1', 'ANSIBLE_RETRY_FILES_ENABLED=0', 'ansible-playbook', '-c', 'local', '-i', 'localhost,', '/root/gf-bench/playbook.yml']);
  const ms = performance.now() - started;
  const changed = Number(/changed=(\d+)/.exec(out)?.[1] ?? NaN);
  return { ms, changed };
}

/** ms for ansible-playbook -c local: from nothing, or (noop) re-run on a converged host. */
export async function measureAnsible(host: SystemdHost, options: { noop: boolean }): Promise<number> {
  if (options.noop) {
    await runPlaybook(host); // converge first, untimed
  } else {
    await resetHost(host);
  }
  const { ms, changed } = await runPlaybook(host);
  // Guards the measurement: a no-op changing things, or a converge changing nothing, is not what we time.
  if (options.noop && changed !== 0) throw new Error(`ansible no-op run changed ${changed} tasks`);
  if (!options.noop && !(changed > 0)) throw new Error('ansible converge changed nothing');
  return ms;
}

// The agent's engine inside the host, with the real drivers and production
// defaults; timed inside the process (node's start-up is not part of a pass).
const agentScript = `${engineScriptStart('memory')}
const resources = [
  ...unitResources,
  ...input.files.map((f) => ({ id: 'file/' + f.path, kind: 'file', name: f.path, spec: { content: f.content, mode: f.mode }, drift: 'correct', dependsOn: [], source })),
];
const desired = { host: 'bench', place: 'bench', tags: [], vars: {}, layers: [''], resources, allowEmpty: false };
const t0 = performance.now();
const result = await converge(drivers, desired, inventory, { revision: 'r1', saveInventory: async (inv) => { inventory = inv; } });
const convergeMs = performance.now() - t0;
if (!result.converged) throw new Error('not converged: ' + JSON.stringify(result.statuses));
const noop = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const live = await observe(drivers, desired, inventory);
  const p = plan(desired, live, inventory, { revision: 'r1', suppressed: new Map(), defaultStopTimeout: 10 });
  noop.push(performance.now() - t);
  if (p.steps.length) throw new Error('no-op pass planned steps');
}
console.log(JSON.stringify({ convergeMs, noopMs: noop.sort((a, b) => a - b)[2] }));
`;

/** ms for the agent's converge from nothing, and its no-op pass (observe + plan) on the converged host. */
export async function measureAgent(host: SystemdHost): Promise<{ convergeMs: number; noopMs: number }> {
  await resetHost(host);
  return runEngineScript<{ convergeMs: number; noopMs: number }>(host, agentScript, { units: benchUnits, files: benchFiles });
}


async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  const missing = systemdHostsAvailable();
  if (missing) throw new Error(`cannot boot a systemd host: ${missing}`);
  const host = await bootHost(`gf-bench-${process.pid}`, { bindProject: true, bindDocker: false });
  try {
    // Warm-up: python's bytecode caches, systemd's first loads.
    await measureFloor(host);
    await measureAnsible(host, { noop: false });
    const floor: number[] = [];
    const ansible: number[] = [];
    const ansibleNoop: number[] = [];
    const agent: number[] = [];
    const agentNoop: number[] = [];
    await measureAgent(host);
    for (let i = 0; i < runs; i++) {
      floor.push(await measureFloor(host));
      const a = await measureAgent(host);
      agent.push(a.convergeMs);
      agentNoop.push(a.noopMs);
      ansible.push(await measureAnsible(host, { noop: false }));
      ansibleNoop.push(await measureAnsible(host, { noop: true }));
    }
    const f = median(floor);
    const a = median(ansible);
    const n = median(ansibleNoop);
    const line = (label: string, ms: number, extra = '') => console.log(`${label.padEnd(34)} ${ms.toFixed(1).padStart(9)} ms${extra}`);
    console.log(`5 units + 5 files on one nspawn systemd host, medians of ${runs} interleaved runs`);
    line('floor (one shell, from nothing)', f);
    line('ansible-playbook -c local, converge', a, `   ${(a / f).toFixed(1)}× the floor`);
    line('ansible-playbook -c local, no-op', n);
    const g = median(agent);
    const gn = median(agentNoop);
    line('gitfleet agent, converge', g, `   ${(g / f).toFixed(2)}× the floor (goal ≤ 1.5×), ${(a / g).toFixed(1)}× faster than ansible`);
    line('gitfleet agent, no-op pass', gn, `   ${(n / gn).toFixed(0)}× faster than ansible's no-op (goal ≥ 20×; ≤ 50 ms)`);
  } finally {
    await host.poweroff();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}

