// The idle agent's footprint, as packaging/systemd/gitfleet-agent.service runs
// it: a booted systemd host (nspawn) with the agent installed by
// packaging/install.sh, keeping 10 containers (the real engine), 5 units and 5
// files converged, connected to a real hub, at the default intervals (Git poll
// every 60 s, drift check every 30 s). Beside it, in the same host and the same
// run, a bare `node` process started as a unit with the agent unit's node flags
// (the floor: what Node.js itself costs). Prints both RSS medians, their ratio,
// the agent's CPU while idle and the installed size of /usr/lib/gitfleet.
//   npm run build && node --import tsx bench/agent-footprint.ts [--idle 120] [--runs 1] [--node-flags="…"] [--from DIR]
//     [--env KEY=VALUE …] [--smaps] [--spawns 120] [--heap-snapshot FILE] [--cpu-profile FILE] [--passes 30]
// Each run also prints the agent's CPU in the window by thread (user and system).
// --node-flags replaces the unit's node flags for this run (through a drop-in,
// as `systemctl edit gitfleet-agent` would), to measure a V8 setting; --env
// adds an Environment= line to the same drop-in (e.g. MALLOC_ARENA_MAX=2), for
// the agent and the bare node alike.
// --from installs the build of another checkout (install.sh --from), e.g. an
// older commit's, to measure before and after with the same harness.
// After the measured window (so they do not disturb it): --smaps prints where
// the resident memory of both processes is (node's program file, anonymous
// memory: V8 heap and malloc, shared libraries); --spawns N counts the
// processes the agent starts in N seconds (strace, execve) by program;
// --heap-snapshot writes the agent's V8 heap snapshot to FILE (the unit then
// runs node with --heapsnapshot-signal=SIGUSR2 too); --cpu-profile writes the
// agent's V8 CPU profile of the whole run to FILE (node --cpu-prof; the agent is
// stopped after the window to write it) and prints where the idle window's
// CPU time went, by script and by function; --passes N asks for N reconciles
// (systemctl reload, one every 3 s) and prints the agent's CPU per pass, less
// what the idle window says the agent spends anyway: a figure that moves far
// less with the machine's state than the idle percentage does.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import Dockerode from 'dockerode';
import { stringify } from 'yaml';
import { median } from './stats.ts';
import { cpuProfileSummary } from './cpu-profile.ts';
import { procStats, residentByKind } from './resident.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../test/harness/nspawn.ts';
import { dockerMissingReason } from '../test/harness/docker.ts';
import { HubProcess } from '../test/harness/faults.ts';
import { WorkRepo, freePort, tempDir } from '../test/harness/git-servers.ts';
import { bundleMissing, installAgent, mustExec, sleep } from '../test/e2e/fleet-support.ts';

const GOAL_RSS_MIB = 48;
const GOAL_INSTALLED_MB = 10;
const GOAL_CPU_PERCENT = 0.1;
const CLOCK_TICKS = 100; // USER_HZ on Linux
/** In the agent's state directory: the one directory its unit lets it write besides /etc. */
const CPU_PROFILE_DIR = '/var/lib/gitfleet/cpu-profile';
const UNIT_FLAGS = /^ExecStart=node (.*?) \/usr\/lib\/gitfleet\/gitfleet\.mjs agent/m;

interface Extras {
  env: string[];
  smaps: boolean;
  spawnsSeconds: number;
  heapSnapshot: string | undefined;
  cpuProfile: string | undefined;
  passes: number;
}

interface RunResult {
  agentMiB: number;
  agentPeakMiB: number;
  bareMiB: number;
  cpuPercent: number;
  childCpuPercent: number;
  installedBytes: number;
  installedFiles: number;
  flags: string;
  /** The VM's 1-minute load average at the start and the end of the window (CPU % moves with it). */
  load: [number, number];
  notes: string[];
}

function fleet(host: string, run: string): Record<string, string> {
  const containers = Object.fromEntries(
    Array.from({ length: 10 }, (_, i) => [`gffp-${run}-${i}`, { image: 'local/busybox:1', command: ['sleep', '3600'], init: true, network: 'none' }]),
  );
  const units = Object.fromEntries(
    Array.from({ length: 5 }, (_, i) => [`gffp-${i}.service`, { content: `[Unit]\nDescription=footprint bench ${i}\n[Service]\nUser=nobody\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n`, enabled: true, state: 'running' }]),
  );
  const files = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`/etc/gffp/file-${i}.conf`, { content: `setting = ${i}\n` }]));
  return { [`${host}/host.yaml`]: '', [`${host}/apps.yaml`]: stringify({ containers, units, files }) };
}

/** The VM's pid of the process whose pid is `nsPid` inside the host's pid namespace. */
function vmPid(host: SystemdHost, nsPid: number): number {
  const ns = readlinkSync(`/proc/${host.pid1}/ns/pid`);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== ns) continue;
      const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]?.trim().split(/\s+/);
      if (nspid && Number(nspid[nspid.length - 1]) === nsPid) return Number(entry);
    } catch {
      // the process exited while we looked
    }
  }
  throw new Error(`${host.name}: no process ${nsPid} in its pid namespace`);
}

/** The agent's "reconcile finished" log lines since `sinceMs`, counted by trigger. */
async function passesByTrigger(host: SystemdHost, sinceMs: number): Promise<Map<string, number>> {
  const journal = await host.exec(['journalctl', '-u', 'gitfleet-agent', '-o', 'cat', '--no-pager', `--since=@${Math.floor(sinceMs / 1000)}`, `--until=@${Math.ceil(Date.now() / 1000)}`]);
  const triggers = new Map<string, number>();
  for (const line of journal.stdout.split('\n')) {
    try {
      const entry = JSON.parse(line) as { msg?: string; trigger?: string };
      if (entry.msg === 'reconcile finished' && entry.trigger) triggers.set(entry.trigger, (triggers.get(entry.trigger) ?? 0) + 1);
    } catch {
      // not a JSON log line
    }
  }
  return triggers;
}

/** Passes asked for by a person (systemctl reload is SIGHUP: a manual sync) since `sinceMs`. */
async function manualPasses(host: SystemdHost, sinceMs: number): Promise<number> {
  return (await passesByTrigger(host, sinceMs)).get('manual') ?? 0;
}

async function mainPid(host: SystemdHost, unit: string): Promise<number> {
  const pid = Number((await mustExec(host, ['systemctl', 'show', '-p', 'MainPID', '--value', unit])).stdout.trim());
  if (!pid) throw new Error(`${host.name}: ${unit} has no main process`);
  return vmPid(host, pid);
}

/** Per thread of the process: its name and CPU ticks, user and system apart. */
function threadTicks(pid: number): Map<string, { name: string; user: number; system: number }> {
  const threads = new Map<string, { name: string; user: number; system: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(tid, { name, user: Number(fields[11]), system: Number(fields[12]) });
    } catch {
      // the thread ended meanwhile
    }
  }
  return threads;
}

/** "node 0.21 % (user 0.15, system 0.06), libuv-worker 0.02 % …": each kind of thread's share of a core over the window. */
function threadBreakdown(before: ReturnType<typeof threadTicks>, after: ReturnType<typeof threadTicks>, seconds: number): string {
  const byName = new Map<string, { user: number; system: number }>();
  for (const [tid, t] of after) {
    const b = before.get(tid) ?? { user: 0, system: 0 };
    const sum = byName.get(t.name) ?? { user: 0, system: 0 };
    byName.set(t.name, { user: sum.user + t.user - b.user, system: sum.system + t.system - b.system });
  }
  const percent = (ticks: number) => ((ticks / CLOCK_TICKS / seconds) * 100).toFixed(3);
  return [...byName]
    .filter(([, t]) => t.user + t.system > 0)
    .sort((a, b) => b[1].user + b[1].system - (a[1].user + a[1].system))
    .map(([name, t]) => `${name} ${percent(t.user + t.system)} % (user ${percent(t.user)}, system ${percent(t.system)})`)
    .join(', ') || 'no thread used a tick';
}

/** The programs a process and its children exec in `seconds`, counted (strace from the VM). */
async function countSpawns(pid: number, seconds: number): Promise<Map<string, number>> {
  const out = tempDir('footprint-strace');
  const file = join(out, 'trace');
  const strace = spawn('strace', ['-f', '-qq', '-e', 'trace=execve', '-e', 'signal=none', '-o', file, '-p', String(pid)], { stdio: 'ignore' });
  await sleep(seconds * 1000);
  strace.kill('SIGINT');
  await new Promise((resolve) => strace.on('close', resolve));
  const counts = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const program = /execve\("([^"]+)"/.exec(line)?.[1];
    if (program && !line.includes('= -1 ')) counts.set(program.split('/').pop()!, (counts.get(program.split('/').pop()!) ?? 0) + 1);
  }
  rmSync(out, { recursive: true, force: true });
  return counts;
}

/** Signals the agent to write a heap snapshot into its working directory and copies it to `to`. */
async function takeHeapSnapshot(pid: number, to: string): Promise<void> {
  const cwd = `/proc/${pid}/cwd`;
  const before = new Set(readdirSync(cwd));
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 120; i++) {
    await sleep(1000);
    const written = readdirSync(cwd).find((n) => n.endsWith('.heapsnapshot') && !before.has(n));
    if (!written) continue;
    const size = statSync(join(cwd, written)).size;
    await sleep(2000);
    if (statSync(join(cwd, written)).size !== size) continue;
    copyFileSync(join(cwd, written), to);
    rmSync(join(cwd, written), { force: true });
    return;
  }
  throw new Error('the agent wrote no heap snapshot in 120 s');
}

function treeSize(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = treeSize(path);
      bytes += sub.bytes;
      files += sub.files;
    } else if (entry.isFile()) {
      bytes += statSync(path).size;
      files += 1;
    }
  }
  return { bytes, files };
}

async function measureOnce(idleSeconds: number, requestedFlags: string | undefined, from: string | undefined, extras: Extras): Promise<RunResult> {
  const run = randomBytes(3).toString('hex');
  const name = `gffp-${run}`;
  const work = tempDir('footprint');
  const repo = new WorkRepo(join(work, 'fleet.git'));
  const hub = new HubProcess({ dataDir: join(work, 'hub'), port: await freePort(), heartbeat: '30s' });
  const docker = new Dockerode();
  let host: SystemdHost | null = null;
  try {
    const revision = repo.commit(fleet(name, run), 'footprint bench');
    repo.push();
    await hub.start();
    const binds = [{ host: repo.bare, guest: '/srv/fleet.git', readOnly: true }, ...(from ? [{ host: from, guest: '/srv/gitfleet-build', readOnly: true }] : [])];
    host = await bootHost(name, { binds });
    const fromArgs = from ? ['--from', '/srv/gitfleet-build'] : [];
    const install = await installAgent(host, ['--repo', '/srv/fleet.git', '--host', name, '--hub', hub.agentUrl, '--token', hub.enrollment, ...fromArgs]);
    if (install.code !== 0) throw new Error(`install.sh failed: ${install.stderr}`);
    const unitText = readFileSync(join(host.rootDir, 'etc/systemd/system/gitfleet-agent.service'), 'utf8');
    let flags = UNIT_FLAGS.exec(unitText)?.[1];
    if (flags === undefined) throw new Error('the installed unit has no "ExecStart=node FLAGS /usr/lib/gitfleet/gitfleet.mjs agent" line');
    const profiling = [extras.heapSnapshot ? '--heapsnapshot-signal=SIGUSR2' : '', extras.cpuProfile ? `--cpu-prof --cpu-prof-dir=${CPU_PROFILE_DIR}` : ''].filter(Boolean).join(' ');
    const nodeFlags = profiling ? `${requestedFlags ?? flags} ${profiling}` : requestedFlags;
    if (nodeFlags !== undefined || extras.env.length > 0) {
      const exec = /^ExecStart=(.*)$/m.exec(unitText)![1]!.replace(`node ${flags} `, `node ${nodeFlags ?? flags} `);
      const dropins = join(host.rootDir, 'etc/systemd/system/gitfleet-agent.service.d');
      mkdirSync(dropins, { recursive: true });
      const environment = extras.env.map((e) => `Environment=${e}\n`).join('');
      writeFileSync(join(dropins, 'bench-flags.conf'), `[Service]\n${environment}ExecStart=\nExecStart=${exec}\n`);
      await mustExec(host, ['systemctl', 'daemon-reload']);
      await mustExec(host, ['systemctl', 'restart', 'gitfleet-agent']);
      flags = nodeFlags ?? flags;
    }
    await hub.convergedAt(name, revision, 120_000).catch(async (error: unknown) => {
      const events = await hub.events(name, 20).catch(() => []);
      throw new Error(`${String(error)}\nlast events: ${events.map((e) => `${e.reason}: ${e.message}`).join('\n')}`);
    });
    // The floor, started the way systemd starts the agent, with the same node flags.
    await mustExec(host, ['systemd-run', '--unit=gffp-bare-node', ...extras.env.map((e) => `--setenv=${e}`), '--', 'node', ...flags.split(/\s+/).filter(Boolean), '-e', 'setInterval(() => {}, 1 << 30)']);
    // Settle: the first drift check and poll after the converge, health checks, the first GCs.
    await sleep(45_000);
    const agentPid = await mainPid(host, 'gitfleet-agent');
    const barePid = await mainPid(host, 'gffp-bare-node');
    const agentSamples: number[] = [];
    const bareSamples: number[] = [];
    const start = procStats(agentPid);
    const threadsAtStart = threadTicks(agentPid);
    const loadBefore = loadavg()[0]!;
    const t0 = Date.now();
    while (Date.now() - t0 < idleSeconds * 1000) {
      agentSamples.push(procStats(agentPid).rssKiB);
      bareSamples.push(procStats(barePid).rssKiB);
      await sleep(1000);
    }
    const end = procStats(agentPid);
    const threadsAtEnd = threadTicks(agentPid);
    const loadAfter = loadavg()[0]!;
    // What woke the agent in the window: its "reconcile finished" log lines, by trigger.
    const triggers = await passesByTrigger(host, t0);
    const elapsed = (Date.now() - t0) / 1000;
    // Still the same daemon, still in sync: the numbers are of an agent doing its job.
    if ((await mainPid(host, 'gitfleet-agent')) !== agentPid) throw new Error('the agent restarted while it was measured');
    const summary = (await hub.host(name)).summary;
    if (summary.connectivity !== 'Online' || summary.sync !== 'InSync') throw new Error(`the hub says ${JSON.stringify(summary)} after the idle window`);
    const installed = treeSize(join(host.rootDir, 'usr/lib/gitfleet'));
    const notes: string[] = [`  reconciles in the window: ${[...triggers].map(([t, n]) => `${t} ${n}`).join(', ') || 'none'}`, `  its CPU by thread, user + system: ${threadBreakdown(threadsAtStart, threadsAtEnd, elapsed)}`];
    if (extras.smaps) {
      const agentKinds = residentByKind(agentPid);
      const bareKinds = residentByKind(barePid);
      for (const kind of Object.keys(agentKinds)) notes.push(`  RSS ${kind.padEnd(36)} agent ${(agentKinds[kind]! / 1024).toFixed(1).padStart(5)} MiB, bare node ${(bareKinds[kind]! / 1024).toFixed(1).padStart(5)} MiB`);
    }
    if (extras.spawnsSeconds > 0) {
      const counts = await countSpawns(agentPid, extras.spawnsSeconds);
      const perMinute = [...counts].sort((a, b) => b[1] - a[1]).map(([program, n]) => `${program} ${((n * 60) / extras.spawnsSeconds).toFixed(1)}`);
      notes.push(`  processes the agent started, per minute over ${extras.spawnsSeconds} s: ${perMinute.join(', ') || 'none'}`);
    }
    if (extras.passes > 0) {
      const idleTicksPerSecond = (end.cpuTicks - start.cpuTicks) / elapsed;
      const idleChildTicksPerSecond = (end.childTicks - start.childTicks) / elapsed;
      const before = procStats(agentPid);
      const from = Date.now();
      const finishedBefore = await manualPasses(host, t0);
      for (let i = 0; i < extras.passes; i++) {
        await mustExec(host, ['systemctl', 'reload', 'gitfleet-agent']);
        await sleep(3000);
      }
      const after = procStats(agentPid);
      const seconds = (Date.now() - from) / 1000;
      const ran = (await manualPasses(host, t0)) - finishedBefore;
      const perPass = (ticks: number, idlePerSecond: number) => (((ticks - idlePerSecond * seconds) / ran) * 1000) / CLOCK_TICKS;
      notes.push(
        `  CPU per reconcile (${ran} asked for with systemctl reload in ${seconds.toFixed(0)} s, idle rate subtracted): agent ${perPass(after.cpuTicks - before.cpuTicks, idleTicksPerSecond).toFixed(1)} ms, its git/systemctl ${perPass(after.childTicks - before.childTicks, idleChildTicksPerSecond).toFixed(1)} ms`,
      );
    }
    if (extras.heapSnapshot) {
      await takeHeapSnapshot(agentPid, extras.heapSnapshot);
      notes.push(`  heap snapshot of the agent: ${extras.heapSnapshot}`);
    }
    if (extras.cpuProfile) {
      const windowEndMs = Date.now();
      await mustExec(host, ['systemctl', 'stop', 'gitfleet-agent']);
      const dir = join(host.rootDir, CPU_PROFILE_DIR);
      const written = readdirSync(dir).find((n) => n.endsWith('.cpuprofile'));
      if (!written) throw new Error(`the agent wrote no CPU profile in ${CPU_PROFILE_DIR}`);
      copyFileSync(join(dir, written), extras.cpuProfile);
      notes.push(`  CPU profile of the agent: ${extras.cpuProfile}; the idle window in it:`, ...cpuProfileSummary(extras.cpuProfile, windowEndMs - t0, Date.now() - windowEndMs));
    }
    return {
      agentMiB: median(agentSamples) / 1024,
      agentPeakMiB: Math.max(...agentSamples) / 1024,
      bareMiB: median(bareSamples) / 1024,
      cpuPercent: ((end.cpuTicks - start.cpuTicks) / CLOCK_TICKS / elapsed) * 100,
      childCpuPercent: ((end.childTicks - start.childTicks) / CLOCK_TICKS / elapsed) * 100,
      installedBytes: installed.bytes,
      installedFiles: installed.files,
      flags,
      load: [loadBefore, loadAfter],
      notes,
    };
  } finally {
    await host?.poweroff().catch(() => undefined);
    await hub.stop();
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ name: [`gffp-${run}-`] }) });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
    repo.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      idle: { type: 'string', default: '120' },
      runs: { type: 'string', default: '1' },
      'node-flags': { type: 'string' },
      from: { type: 'string' },
      smaps: { type: 'boolean', default: false },
      spawns: { type: 'string', default: '0' },
      'heap-snapshot': { type: 'string' },
      'cpu-profile': { type: 'string' },
      passes: { type: 'string', default: '0' },
      env: { type: 'string', multiple: true, default: [] },
    },
  });
  const extras: Extras = { env: values.env, smaps: values.smaps, spawnsSeconds: Number(values.spawns), heapSnapshot: values['heap-snapshot'], cpuProfile: values['cpu-profile'], passes: Number(values.passes) };
  const missing = systemdHostsAvailable() ?? (await dockerMissingReason()) ?? bundleMissing();
  if (missing) throw new Error(`cannot measure: ${missing}`);
  const idle = Number(values.idle);
  const runs = Number(values.runs);
  const results: RunResult[] = [];
  console.log(`idle agent footprint: installed by install.sh${values.from ? ` from ${values.from}` : ''}, run by its unit on a systemd host; 10 containers, 5 units, 5 files, hub connected; RSS sampled every 1 s over ${idle} s`);
  for (let r = 0; r < runs; r++) {
    const x = await measureOnce(idle, values['node-flags'], values.from, extras);
    results.push(x);
    console.log(
      `run ${r + 1}: agent RSS median ${x.agentMiB.toFixed(1)} MiB (peak ${x.agentPeakMiB.toFixed(1)}), bare node ${x.bareMiB.toFixed(1)} MiB, ratio ${(x.agentMiB / x.bareMiB).toFixed(2)}×, agent CPU ${x.cpuPercent.toFixed(3)}% (+ its git/systemctl children ${x.childCpuPercent.toFixed(3)}%), load ${x.load.map((l) => l.toFixed(1)).join('→')}  [${extras.env.length ? `${extras.env.join(' ')} ` : ''}node ${x.flags}]`,
    );
    for (const note of x.notes) console.log(note);
  }
  const agent = median(results.map((x) => x.agentMiB));
  const bare = median(results.map((x) => x.bareMiB));
  const cpu = median(results.map((x) => x.cpuPercent));
  const childCpu = median(results.map((x) => x.childCpuPercent));
  const installed = results[0]!;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(`agent idle RSS median   ${agent.toFixed(1)} MiB   (goal ≤ ${GOAL_RSS_MIB} MiB: ${verdict(agent <= GOAL_RSS_MIB)})`);
  console.log(`bare node idle RSS      ${bare.toFixed(1)} MiB   (same host, same run, same node flags)`);
  console.log(`ratio agent / bare node ${(agent / bare).toFixed(2)}×   (agent − node: ${(agent - bare).toFixed(1)} MiB)`);
  console.log(`agent CPU while idle    ${cpu.toFixed(3)} %   (goal ≤ ${GOAL_CPU_PERCENT} %: ${verdict(cpu <= GOAL_CPU_PERCENT)}); its children (git, systemctl) ${childCpu.toFixed(3)} % more`);
  console.log(`installed size          ${(installed.installedBytes / 1e6).toFixed(2)} MB in ${installed.installedFiles} files under /usr/lib/gitfleet (goal ≤ ${GOAL_INSTALLED_MB} MB: ${verdict(installed.installedBytes / 1e6 <= GOAL_INSTALLED_MB)})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
