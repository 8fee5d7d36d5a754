// Helpers for tests that need the real Docker engine: an availability check
// for requireComponent, unique names and a run label so parallel test runs
// never touch each other's containers, cleanup, and the "manual" actions an
// operator would do with the docker CLI (stop, rm -f, run another image under
// a managed name) done through dockerode, for drift tests.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { freeTestNetBlocks } from './testnet-free-blocks.ts';

export const DEFAULT_SOCKET = '/var/run/docker.sock';
/** Every container a test makes carries this label with its run id. */
export const TEST_LABEL = 'io.gitfleet.test';
/** Imported by test/env/provision.d/10-docker.sh; :2 is a different image (other id). */
export const TEST_IMAGE = 'local/busybox:1';
export const TEST_IMAGE_2 = 'local/busybox:2';

/** null when the engine answers on `socketPath` and has the test images; else why not. */
export async function dockerMissingReason(socketPath = DEFAULT_SOCKET): Promise<string | null> {
  const docker = new Dockerode({ socketPath });
  try {
    await docker.ping();
  } catch (error) {
    return `no Docker engine answers on ${socketPath} (${(error as Error).message})`;
  }
  for (const image of [TEST_IMAGE, TEST_IMAGE_2]) {
    try {
      await docker.getImage(image).inspect();
    } catch {
      return `the test image ${image} is missing`;
    }
  }
  return null;
}

/** null when the docker-compose command runs here, else why not (for requireComponent). */
export async function composeMissing(): Promise<string | null> {
  try {
    await promisify(execFile)('docker-compose', ['version']);
    return null;
  } catch (error) {
    return `docker-compose (Debian's 1.29) cannot run: ${(error as Error).message}`;
  }
}

export interface RunOptions {
  image?: string;
  cmd?: string[];
  labels?: Record<string, string>;
  network?: string;
}

export class DockerTestHarness {
  readonly runId: string;
  readonly docker: Dockerode;

  constructor(readonly socketPath = DEFAULT_SOCKET, runId?: string) {
    this.runId = runId ?? `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
    this.docker = new Dockerode({ socketPath });
  }

  /** A container name unique to this run: `gft-<run>-<suffix>`. */
  name(suffix: string): string {
    return `gft-${this.runId}-${suffix}`;
  }

  /** The label set that marks a container as this run's (cleanup finds it by this). */
  get labels(): Record<string, string> {
    return { [TEST_LABEL]: this.runId };
  }

  /** Removes every container carrying this run's label (force, with anonymous volumes). */
  async cleanup(): Promise<void> {
    const containers = await this.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${TEST_LABEL}=${this.runId}`] }) });
    await Promise.all(containers.map((c) => this.rmForce(c.Id)));
    const networks = await this.docker.listNetworks({ filters: JSON.stringify({ label: [`${TEST_LABEL}=${this.runId}`] }) });
    await Promise.all(networks.map((n) => this.docker.getNetwork(n.Id).remove().catch(() => {})));
  }

  /** `docker stop -t N` */
  async stop(nameOrId: string, timeoutSeconds = 1): Promise<void> {
    await this.docker.getContainer(nameOrId).stop({ t: timeoutSeconds }).catch(ignoreStatus(304, 404));
  }

  /** `docker rm -f -v` */
  async rmForce(nameOrId: string): Promise<void> {
    await this.docker.getContainer(nameOrId).remove({ force: true, v: true }).catch(ignoreStatus(404, 409));
  }

  /** `docker run -d --name NAME --init --network none IMAGE CMD` with this run's label; returns the id. */
  async run(name: string, options: RunOptions = {}): Promise<string> {
    const container = await this.docker.createContainer({
      name,
      Image: options.image ?? TEST_IMAGE,
      Cmd: options.cmd ?? ['sleep', '3600'],
      Labels: { ...options.labels, ...this.labels },
      HostConfig: { Init: true, NetworkMode: options.network ?? 'none' },
    });
    await container.start();
    return container.id;
  }

  async inspect(nameOrId: string): Promise<Dockerode.ContainerInspectInfo> {
    return this.docker.getContainer(nameOrId).inspect();
  }

  async exists(nameOrId: string): Promise<boolean> {
    try {
      await this.inspect(nameOrId);
      return true;
    } catch {
      return false;
    }
  }

  async imageId(image: string): Promise<string> {
    return ((await this.docker.getImage(image).inspect()) as { Id: string }).Id;
  }

  /**
   * A user-defined bridge network (the engine runs with --bridge=none, so
   * publishing ports needs one) on a free /28 of TEST-NET-1 (192.0.2.0/24),
   * the only range tests may address, never one holding this machine's own
   * address or gateway (testnet-free-blocks.ts). Removed by cleanup().
   */
  async bridgeNetwork(suffix: string): Promise<string> {
    const name = this.name(suffix);
    const blocks = freeTestNetBlocks();
    const start = randomBytes(1)[0] as number % blocks.length;
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[(start + i) % blocks.length]!;
      try {
        await this.docker.createNetwork({
          Name: name, Driver: 'bridge', Labels: this.labels,
          IPAM: { Config: [{ Subnet: `192.0.2.${block}/28`, Gateway: `192.0.2.${block + 1}` }] },
        });
        return name;
      } catch (error) {
        if (!/overlap|in use/i.test(String((error as Error).message))) throw error;
      }
    }
    throw new Error('no free /28 in 192.0.2.0/24 for a test bridge network');
  }
}

function ignoreStatus(...codes: number[]) {
  return (error: unknown) => {
    if (codes.includes((error as { statusCode?: number }).statusCode ?? 0)) return;
    throw error;
  };
}

/**
 * A private dockerd (own data root, exec root, socket) that a test may stop and
 * start at will — the shared engine must never be restarted, other tests use it.
 * Ready in well under a second; dispose() stops it and deletes its directory.
 */
export class PrivateDockerd {
  readonly dir: string;
  readonly socketPath: string;
  readonly docker: Dockerode;
  private child: ChildProcess | null = null;
  private readonly killOnExit = () => this.child?.kill('SIGKILL');

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'gitfleet-dockerd-'));
    this.socketPath = join(this.dir, 'docker.sock');
    this.docker = new Dockerode({ socketPath: this.socketPath });
  }

  /** Starts the daemon and waits until it answers /_ping (throws after `timeoutMs`). */
  async start(timeoutMs = 15_000): Promise<void> {
    if (this.child) return;
    const log = openSync(join(this.dir, 'dockerd.log'), 'a');
    this.child = spawn('dockerd', [
      '--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec'),
      '--pidfile', join(this.dir, 'dockerd.pid'), '--host', `unix://${this.socketPath}`,
      '--bridge=none', '--iptables=false', '--ip-masq=false',
    ], { stdio: ['ignore', log, log] });
    closeSync(log);
    process.once('exit', this.killOnExit);
    const child = this.child;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`private dockerd exited with ${child.exitCode}; see ${this.dir}/dockerd.log`);
      try {
        await this.docker.ping();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`private dockerd did not answer within ${timeoutMs} ms; see ${this.dir}/dockerd.log`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** SIGTERM, as `systemctl stop docker` would; waits for the daemon to exit. */
  async stop(timeoutMs = 20_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    process.removeListener('exit', this.killOnExit);
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Copies an image from the shared engine (docker save | docker load). */
  async loadImageFrom(source: Dockerode, image: string): Promise<void> {
    const tar = await source.getImage(image).get();
    const stream = (await this.docker.loadImage(tar)) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('end', () => resolve());
      stream.resume();
    });
  }

  /** Removes its containers, stops the daemon, deletes its directory. */
  async dispose(): Promise<void> {
    if (this.child) {
      const list = await this.docker.listContainers({ all: true }).catch(() => []);
      await Promise.all(list.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
    }
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
