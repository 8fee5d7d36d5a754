// A private Podman (own storage, run root and API socket) for a test that must
// see only its own containers, as PrivateDockerd is for Docker: `gitfleet
// adopt` reads every container of the engine, and the shared Podman service
// serves other tests at the same time. The images are copied from the shared
// Podman storage (test/env/provision.d/30-podman.sh).
//
// With `netns`, the service and every podman command run inside a network
// namespace made for it (its bridges, iptables rules and dnsmasq live there),
// with bridge subnets from TEST-NET-1 (test/env/podman/containers-testnet.conf)
// and a network config directory of its own; the socket stays in the
// filesystem, so a driver in the test process reaches it as usual.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { untilEngineAnswers } from './engine-ready.ts';
import { PODMAN_CONTAINERS_CONF } from './podman.ts';

const run = promisify(execFile);
const TESTNET_CONTAINERS_CONF = join(import.meta.dirname, '..', 'env', 'podman', 'containers-testnet.conf');

export interface PrivatePodmanOptions {
  /** A network namespace to create and run Podman in (deleted by dispose()); at most 15 characters. */
  netns?: string;
}

export class PrivatePodman {
  readonly dir = mkdtempSync(join(tmpdir(), 'gf-podman-'));
  readonly socket = join(this.dir, 'podman.sock');
  readonly #storage = ['--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'run')];
  readonly netns: string | null;
  /** Where this Podman keeps its network definitions (with `netns`): only its own. */
  readonly networkConfigDir = join(this.dir, 'cni');
  readonly #env: NodeJS.ProcessEnv;
  #service: ChildProcess | null = null;
  #netnsMade = false;

  constructor(options: PrivatePodmanOptions = {}) {
    this.netns = options.netns ?? null;
    if (this.netns !== null && !/^[a-z0-9-]{1,15}$/.test(this.netns)) throw new Error(`netns name ${this.netns} must be 1-15 of a-z0-9-`);
    let conf = PODMAN_CONTAINERS_CONF;
    if (this.netns !== null) {
      conf = join(this.dir, 'containers.conf');
      writeFileSync(conf, `${readFileSync(TESTNET_CONTAINERS_CONF, 'utf8')}network_config_dir = ${JSON.stringify(this.networkConfigDir)}\n`);
    }
    this.#env = { ...process.env, CONTAINERS_CONF: conf };
  }

  /** The command line that runs `podman ARGS…` on this storage, inside the namespace when there is one. */
  #argv(args: string[]): [string, string[]] {
    const podman = [...this.#storage, ...args];
    return this.netns === null ? ['podman', podman] : this.#inNamespace('podman', podman);
  }

  /** The command line that runs `COMMAND ARGS…` inside the namespace. */
  #inNamespace(command: string, args: string[]): [string, string[]] {
    // nsenter --net, not `ip netns exec`: that one also remounts /sys, which hides the cgroup mounts runc needs.
    return ['nsenter', [`--net=/run/netns/${this.netns}`, '--', command, ...args]];
  }

  /** `podman ARGS…` on this private storage. */
  async podman(args: string[], timeoutMs = 60_000): Promise<string> {
    const [command, argv] = this.#argv(args);
    const { stdout } = await run(command, argv, { env: this.#env, timeout: timeoutMs });
    return stdout.trim();
  }

  /** `COMMAND ARGS…` inside the namespace (with `netns`), as a client on the host side of its networks. */
  async inNetns(command: string, args: string[], timeoutMs = 10_000): Promise<string> {
    if (this.netns === null) throw new Error('this private Podman has no network namespace');
    const [nsenter, argv] = this.#inNamespace(command, args);
    const { stdout } = await run(nsenter, argv, { timeout: timeoutMs });
    return stdout.trim();
  }

  async start(): Promise<void> {
    if (this.netns !== null) {
      await run('ip', ['netns', 'add', this.netns]);
      this.#netnsMade = true;
      await run('ip', ['-n', this.netns, 'link', 'set', 'lo', 'up']);
    }
    const [command, argv] = this.#argv(['system', 'service', '--time=0', `unix://${this.socket}`]);
    this.#service = spawn(command, argv, { env: this.#env, stdio: 'ignore' });
    await untilEngineAnswers(this.socket, 'private podman');
  }

  /** Copies an image from the shared Podman storage (podman save | podman load). */
  async copyImage(image: string): Promise<void> {
    const save = spawn('podman', ['save', image], { env: this.#env, stdio: ['ignore', 'pipe', 'inherit'] });
    const load = spawn('podman', [...this.#storage, 'load', '-q'], { env: this.#env, stdio: ['pipe', 'ignore', 'inherit'] });
    save.stdout.pipe(load.stdin);
    await new Promise<void>((resolve, reject) => load.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`podman load exited ${code}`)))));
  }

  async dispose(): Promise<void> {
    // Its containers and volumes, then the service, then its storage's mounts. Not `podman system reset`:
    // that reaches past --root (networks, the shared service's containers) and broke the tests after it.
    await this.podman(['rm', '--all', '--force', '--time', '0'], 120_000).catch(() => undefined);
    await this.podman(['volume', 'rm', '--all', '--force'], 60_000).catch(() => undefined);
    const networks = this.netns === null ? [] : await this.#removeNetworks();
    const service = this.#service;
    if (service && service.exitCode === null) {
      const exited = new Promise((r) => service.once('exit', r));
      service.kill('SIGTERM');
      await exited;
    }
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(this.dir + '/'));
    for (const m of mounts.sort().reverse()) await run('umount', ['-l', m]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    // The CNI host-local plugin keeps a directory per network outside our storage.
    for (const name of networks) rmSync(join('/var/lib/cni/networks', name), { recursive: true, force: true });
    if (this.#netnsMade) await this.#deleteNetns();
  }

  /** Removes this Podman's own networks (its config directory holds only them); returns their names. */
  async #removeNetworks(): Promise<string[]> {
    const listed = await this.podman(['network', 'ls', '--format', '{{.Name}}']).catch(() => '');
    const names = listed.split('\n').filter((n) => n !== '' && n !== 'podman');
    for (const name of names) await this.podman(['network', 'rm', '--force', name]).catch(() => undefined);
    return names;
  }

  /** Ends what is left running inside the namespace (a dnsmasq of the dnsname plugin), then deletes it. */
  async #deleteNetns(): Promise<void> {
    const ns = this.netns!;
    const pids = await run('ip', ['netns', 'pids', ns]).then((r) => r.stdout.split('\n').filter((p) => /^\d+$/.test(p)), () => []);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
}
