// A private Podman (own storage, run root and API socket) for a test that must
// see only its own containers, as PrivateDockerd is for Docker: `gitfleet
// adopt` reads every container of the engine, and the shared Podman service
// serves other tests at the same time. The images are copied from the shared
// Podman storage (test/env/provision.d/30-podman.sh).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { untilEngineAnswers } from './engine-ready.ts';
import { PODMAN_CONTAINERS_CONF } from './podman.ts';

const run = promisify(execFile);

export class PrivatePodman {
  readonly dir = mkdtempSync(join(tmpdir(), 'gf-podman-'));
  readonly socket = join(this.dir, 'podman.sock');
  readonly #storage = ['--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'run')];
  readonly #env = { ...process.env, CONTAINERS_CONF: PODMAN_CONTAINERS_CONF };
  #service: ChildProcess | null = null;

  /** `podman ARGS…` on this private storage. */
  async podman(args: string[], timeoutMs = 60_000): Promise<string> {
    const { stdout } = await run('podman', [...this.#storage, ...args], { env: this.#env, timeout: timeoutMs });
    return stdout.trim();
  }

  async start(): Promise<void> {
    this.#service = spawn('podman', [...this.#storage, 'system', 'service', '--time=0', `unix://${this.socket}`], { env: this.#env, stdio: 'ignore' });
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
    const service = this.#service;
    if (service && service.exitCode === null) {
      const exited = new Promise((r) => service.once('exit', r));
      service.kill('SIGTERM');
      await exited;
    }
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(this.dir + '/'));
    for (const m of mounts.sort().reverse()) await run('umount', ['-l', m]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
