// Real systemd hosts for tests: systemd-nspawn containers booted from a cached
// debootstrap tree (test/env/provision.d/20-nspawn-base.sh) on a copy-on-write
// overlay each, in a cgroup of their own (without one, every host's systemd
// would fight over the same cgroup). See docs/systemd-hosts.md.
//
// Every host keeps its state in STATE_ROOT/NAME (overlay dirs, console log,
// state.json), so a host booted by one process can be listed, entered and
// powered off by another (test/env/host.sh runs this file as a CLI).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync, accessSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';

export interface BindMount {
  host: string;
  guest: string;
  readOnly?: boolean;
}

export interface BootOptions {
  binds?: BindMount[];
  /** Binds node (at /usr/local/bin/node) and the project (at /opt/gitfleet), read-only. Default true. */
  bindProject?: boolean;
  /** With bindProject, also binds this machine's node. Default true; false for a tree of another architecture, which brings its own. */
  bindNode?: boolean;
  /** The tree the overlay starts from. Default: the cached x86 base (baseTree); the arm64 one is test/harness/arm64.ts's. */
  baseTree?: string;
  /** Binds /var/run/docker.sock. Default: when the socket exists. */
  bindDocker?: boolean;
  /** Milliseconds to wait for `systemctl is-system-running --wait`. Default 30000. */
  bootTimeoutMs?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SystemdHost {
  name: string;
  /** The host's PID 1 as the VM sees it. */
  pid1: number;
  /** The host's root directory from the VM: /proc/PID1/root. */
  rootDir: string;
  /** Runs a command inside the host (all its namespaces, a clean environment). Never rejects on a non-zero exit. */
  exec(argv: string[], options?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Clean shutdown (SIGRTMIN+4), then unmounts and removes every directory and cgroup the host had. */
  poweroff(): Promise<void>;
}

const projectDir = resolve(import.meta.dirname, '../..');
const cacheDir = process.env.GITFLEET_TEST_CACHE ?? '/var/cache/gitfleet-test';
export const baseTree = join(cacheDir, 'nspawn-base');
export const stateRoot = join(tmpdir(), 'gitfleet-hosts');
const cgroupDir = 'gitfleet-test';
const cgroupRoots = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'];
const guestPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// Moves the shell into the host's cgroups, then becomes nspawn. A constant
// script: every value reaches it as an argument, nothing is interpolated.
const enterCgroupsThenExec = 'for cg in "$1" "$2"; do echo $$ > "$cg/cgroup.procs" || exit 1; done; shift 2; exec "$@"';
// glibc's SIGRTMIN is 34; systemd powers off on SIGRTMIN+4.
const SIGRTMIN_PLUS_4 = 38;

interface HostState {
  name: string;
  dir: string;
  nspawnPid: number;
  pid1: number;
  cgroups: string[];
}

/** null when hosts can boot here, else the reason (for requireComponent). */
export function systemdHostsAvailable(tree = baseTree): string | null {
  if (process.platform !== 'linux') return 'systemd hosts need Linux';
  if (process.getuid?.() !== 0) return 'booting systemd-nspawn hosts needs root';
  for (const tool of ['/usr/bin/systemd-nspawn', '/usr/bin/nsenter']) {
    if (!existsSync(tool)) return `${tool} is missing (apt-get install systemd-container util-linux)`;
  }
  if (!existsSync(join(tree, '.gitfleet-base'))) return `the base tree ${tree} is not built (test/env/provision.d/20-nspawn-base.sh)`;
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) return 'the kernel has no overlay filesystem';
  for (const root of cgroupRoots) {
    try {
      accessSync(root, constants.W_OK);
    } catch {
      return `${root} is not a writable cgroup hierarchy (expected cgroups v1 hybrid)`;
    }
  }
  return null;
}

function assertHostName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) {
    throw new Error(`host name ${JSON.stringify(name)} must be 1-63 of a-z, 0-9 and - (it is also the hostname)`);
  }
}

function run(argv: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) reject(new Error(`${argv.join(' ')} timed out after ${options.timeoutMs ?? 60_000} ms; stderr: ${stderr.trim()}`));
      else resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a command that does not read its input
    child.stdin.end(options.input ?? '');
  });
}

async function mustRun(argv: string[]): Promise<void> {
  const r = await run(argv, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Alive and not a zombie (a zombie nobody reaps would look alive to kill(pid, 0)). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The child of nspawn whose innermost PID is 1: the host's systemd. */
function findPid1(nspawnPid: number): number | null {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${nspawnPid}/task`);
  } catch {
    return null;
  }
  for (const task of tasks) {
    let children: string[];
    try {
      children = readFileSync(`/proc/${nspawnPid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      continue;
    }
    for (const child of children) {
      try {
        const nspid = /^NSpid:\s+(.+)$/m.exec(readFileSync(`/proc/${child}/status`, 'utf8'))?.[1]?.trim().split(/\s+/);
        if (nspid && nspid.length > 1 && nspid[nspid.length - 1] === '1') return Number(child);
      } catch {
        continue;
      }
    }
  }
  return null;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function execIn(pid1: number, argv: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  // env -i: the VM's environment would otherwise leak into the host.
  return run(['/usr/bin/nsenter', '-t', String(pid1), '-a', '/usr/bin/env', '-i', guestPath, 'HOME=/root', 'LANG=C.UTF-8', ...argv], options);
}

function consoleTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'console.log'), 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no console log)';
  }
}

function hostHandle(state: HostState): SystemdHost {
  return {
    name: state.name,
    pid1: state.pid1,
    rootDir: `/proc/${state.pid1}/root`,
    exec: (argv, options) => execIn(state.pid1, argv, options),
    poweroff: () => teardown(state),
  };
}

function bindArgs(options: BootOptions): string[] {
  const binds: BindMount[] = [...(options.binds ?? [])];
  if (options.bindProject ?? true) {
    if (options.bindNode ?? true) binds.push({ host: process.execPath, guest: '/usr/local/bin/node', readOnly: true });
    binds.push({ host: projectDir, guest: '/opt/gitfleet', readOnly: true });
  }
  const dockerSocket = '/var/run/docker.sock';
  const bindDocker = options.bindDocker ?? existsSync(dockerSocket);
  if (bindDocker) {
    if (!existsSync(dockerSocket)) throw new Error(`bindDocker: ${dockerSocket} does not exist (is dockerd running?)`);
    binds.push({ host: dockerSocket, guest: dockerSocket });
  }
  return binds.map((b) => {
    if (b.host.includes(':') || b.guest.includes(':')) throw new Error(`bind paths may not contain ':' (${b.host} → ${b.guest})`);
    return `${b.readOnly ? '--bind-ro' : '--bind'}=${b.host}:${b.guest}`;
  });
}

/** Boots a host; resolves once systemd says the system is running (or degraded). */
export async function bootHost(name: string, options: BootOptions = {}): Promise<SystemdHost> {
  assertHostName(name);
  const lower = options.baseTree ?? baseTree;
  const missing = systemdHostsAvailable(lower);
  if (missing) throw new Error(`cannot boot systemd host ${name}: ${missing}`);
  mkdirSync(stateRoot, { recursive: true });
  const dir = join(stateRoot, name);
  if (existsSync(dir)) {
    const stale = readState(name);
    if (stale && alive(stale.nspawnPid)) throw new Error(`a host named ${name} is already running (pid ${stale.nspawnPid})`);
    await teardown(stale ?? { name, dir, nspawnPid: 0, pid1: 0, cgroups: cgroupRoots.map((r) => join(r, cgroupDir, name)) });
  }
  mkdirSync(dir);
  const state: HostState = { name, dir, nspawnPid: 0, pid1: 0, cgroups: cgroupRoots.map((r) => join(r, cgroupDir, name)) };
  try {
    const merged = join(dir, 'merged');
    for (const d of ['upper', 'work', 'merged']) mkdirSync(join(dir, d));
    await mustRun(['/usr/bin/mount', '-t', 'overlay', `gitfleet-${name}`, '-o', `lowerdir=${lower},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`, merged]);
    for (const cg of state.cgroups) mkdirSync(cg, { recursive: true });
    const log = openSync(join(dir, 'console.log'), 'w');
    const args = ['-D', merged, '--boot', '--register=no', '--keep-unit', `--machine=${name}`, `--hostname=${name}`, '--console=read-only', ...bindArgs(options)];
    const child = spawn('/bin/sh', ['-c', enterCgroupsThenExec, 'sh', ...state.cgroups, '/usr/bin/systemd-nspawn', ...args], {
      detached: true, // survives the process that booted it (host.sh boot), and is not in its process group
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    child.unref();
    if (child.pid === undefined) throw new Error('systemd-nspawn did not start');
    state.nspawnPid = child.pid;
    writeState(state);

    const deadline = Date.now() + (options.bootTimeoutMs ?? 30_000);
    while (state.pid1 === 0) {
      if (!alive(state.nspawnPid)) throw new Error(`systemd-nspawn exited during boot:\n${consoleTail(dir)}`);
      if (Date.now() > deadline) throw new Error(`host ${name}: no PID 1 within the boot timeout:\n${consoleTail(dir)}`);
      const pid1 = findPid1(state.nspawnPid);
      // Until it has exec'ed systemd the child is still nspawn setting up the namespaces.
      if (pid1 !== null && comm(pid1) === 'systemd') state.pid1 = pid1;
      else await sleep(10);
    }
    writeState(state);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`host ${name} did not finish booting in time:\n${consoleTail(dir)}`);
      const r = await execIn(state.pid1, ['systemctl', 'is-system-running', '--wait'], { timeoutMs: left });
      const said = r.stdout.trim();
      if (said === 'running' || said === 'degraded') break;
      // Before systemd's own socket is up, systemctl cannot connect yet.
      if (!alive(state.nspawnPid)) throw new Error(`host ${name} stopped during boot:\n${consoleTail(dir)}`);
      await sleep(20);
    }
    return hostHandle(state);
  } catch (error) {
    await teardown(state).catch(() => undefined);
    throw error;
  }
}

function writeState(state: HostState): void {
  writeFileSync(join(state.dir, 'state.json'), JSON.stringify(state));
}

function readState(name: string): HostState | null {
  try {
    return JSON.parse(readFileSync(join(stateRoot, name, 'state.json'), 'utf8')) as HostState;
  } catch {
    return null;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

function cgroupPids(cg: string): number[] {
  try {
    return readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Every cgroup below `cg`, deepest first (rmdir order). */
function cgroupTree(cg: string): string[] {
  if (!existsSync(cg)) return [];
  const subs = readdirSync(cg, { withFileTypes: true }).filter((e) => e.isDirectory());
  return [...subs.flatMap((e) => cgroupTree(join(cg, e.name))), cg];
}

async function teardown(state: HostState): Promise<void> {
  const problems: string[] = [];
  if (state.nspawnPid && alive(state.nspawnPid)) {
    if (state.pid1 && alive(state.pid1)) {
      try {
        process.kill(state.pid1, SIGRTMIN_PLUS_4);
      } catch {
        // already gone
      }
    }
    if (!(await waitGone(state.nspawnPid, 15_000))) {
      problems.push('did not power off within 15 s; killed');
      try {
        process.kill(state.nspawnPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  // Anything left in the host's cgroups (a killed nspawn leaves its payload).
  for (const cg of state.cgroups) {
    for (const sub of cgroupTree(cg)) {
      for (const pid of cgroupPids(sub)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }
  const merged = join(state.dir, 'merged');
  if (readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === merged)) {
    const r = await run(['/usr/bin/umount', merged]);
    if (r.code !== 0) {
      await sleep(200);
      const again = await run(['/usr/bin/umount', merged]);
      if (again.code !== 0) {
        problems.push(`umount failed (${again.stderr.trim()}); detached lazily`);
        await run(['/usr/bin/umount', '-l', merged]);
      }
    }
  }
  for (const cg of state.cgroups) {
    for (const sub of cgroupTree(cg)) {
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(sub);
          break;
        } catch {
          await sleep(20); // the last processes are still exiting
        }
      }
    }
  }
  rmSync(state.dir, { recursive: true, force: true });
  if (problems.length > 0) throw new Error(`host ${state.name}: ${problems.join('; ')}`);
}

/** Hosts with a state directory, and whether they run. */
export function listHosts(): { name: string; pid1: number; running: boolean }[] {
  if (!existsSync(stateRoot)) return [];
  return readdirSync(stateRoot).map((name) => {
    const s = readState(name);
    return { name, pid1: s?.pid1 ?? 0, running: s !== null && alive(s.nspawnPid) };
  });
}

/** The running host NAME, booted by any process. */
export function attachHost(name: string): SystemdHost {
  assertHostName(name);
  const s = readState(name);
  if (!s || !s.pid1 || !alive(s.pid1)) throw new Error(`no running host named ${name}`);
  return hostHandle(s);
}

/** Powers off NAME (running or a leftover of a crashed test). */
export async function poweroffHost(name: string): Promise<void> {
  assertHostName(name);
  const s = readState(name) ?? { name, dir: join(stateRoot, name), nspawnPid: 0, pid1: 0, cgroups: cgroupRoots.map((r) => join(r, cgroupDir, name)) };
  await teardown(s);
}

async function cli(argv: string[]): Promise<number> {
  const [command, name, ...rest] = argv;
  const usage = 'usage: host.sh boot NAME | exec NAME CMD… | poweroff NAME | list';
  switch (command) {
    case 'boot': {
      if (!name) break;
      const started = Date.now();
      const host = await bootHost(name);
      process.stdout.write(`${host.name} running (pid1 ${host.pid1}, root ${host.rootDir}) in ${Date.now() - started} ms\n`);
      return 0;
    }
    case 'exec': {
      if (!name || rest.length === 0) break;
      const r = await attachHost(name).exec(rest, { timeoutMs: 24 * 3600_000 });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code;
    }
    case 'poweroff':
      if (!name) break;
      await poweroffHost(name);
      return 0;
    case 'list':
      for (const h of listHosts()) process.stdout.write(`${h.name}\t${h.running ? `running\tpid1 ${h.pid1}` : 'stopped (leftover: poweroff cleans it)'}\n`);
      return 0;
  }
  process.stderr.write(`${usage}\n`);
  return 2;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
