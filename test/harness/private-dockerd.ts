// A private Docker daemon (own data root, exec root, socket) that a test may
// stop and start without disturbing the shared engine other tests use.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { untilEngineAnswers } from './engine-ready.ts';

export class PrivateDockerd {
  readonly dir = mkdtempSync(join(tmpdir(), 'gf-dockerd-'));
  readonly socket = join(this.dir, 'docker.sock');
  private process: ChildProcess | null = null;

  /** `extraArgs`: more dockerd options, e.g. `--default-address-pool base=192.0.2.0/24,size=28` for networks the engine names itself. */
  constructor(private readonly extraArgs: readonly string[] = []) {}

  async start(): Promise<void> {
    const d = this.dir;
    this.process = spawn('dockerd', ['--data-root', join(d, 'data'), '--exec-root', join(d, 'exec'), '--pidfile', join(d, 'docker.pid'), '-H', `unix://${this.socket}`, '--bridge=none', '--iptables=false', '--ip-masq=false', ...this.extraArgs], { stdio: 'ignore' });
    await untilEngineAnswers(this.socket, 'private dockerd');
  }

  /** Copies an image from the shared engine (docker save | docker load). */
  async copyImage(image: string, fromSocket = '/var/run/docker.sock'): Promise<void> {
    const save = spawn('docker', ['-H', `unix://${fromSocket}`, 'save', image], { stdio: ['ignore', 'pipe', 'inherit'] });
    const load = spawn('docker', ['-H', `unix://${this.socket}`, 'load', '-q'], { stdio: ['pipe', 'ignore', 'inherit'] });
    save.stdout.pipe(load.stdin);
    await new Promise<void>((resolve, reject) => load.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker load exited ${code}`)))));
  }

  async stop(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
    this.process = null;
  }

  async dispose(): Promise<void> {
    if (this.process) {
      // Containers of a private engine die with it.
      const docker = new Dockerode({ socketPath: this.socket });
      const all = await docker.listContainers({ all: true }).catch(() => []);
      await Promise.all(all.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
      // Its networks' bridges outlive the daemon: left behind they take the address pools every later engine needs
      // ("could not find an available, non-overlapping IPv4 address pool").
      const networks = await docker.listNetworks().catch(() => []);
      await Promise.all(networks.filter((n) => !['bridge', 'host', 'none'].includes(n.Name)).map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
      await this.stop();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
