// The servers every end-to-end test of a real fleet starts around its hosts
// (test/e2e/fleet-*.test.ts): a git daemon serving fleet.git on loopback, the
// work repository that commits and pushes to it, and the built hub reading it.
// The hub polls Git only every 5 min, so each new head reaches it by the
// signed webhook a test sends, as a Git provider would.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GitDaemon, WorkRepo, freePort } from './git-servers.ts';
import { HubProcess } from './faults.ts';

export class FleetServers {
  readonly daemon: GitDaemon;
  readonly repo: WorkRepo;
  #hub: HubProcess | null = null;

  /** `work` holds the served repository and the hub's data; the caller removes it. */
  constructor(readonly work: string) {
    this.daemon = new GitDaemon(join(work, 'srv'));
    mkdirSync(this.daemon.root, { recursive: true });
    this.repo = new WorkRepo(join(this.daemon.root, 'fleet.git'));
  }

  /** The git:// URL agents and the hub clone; valid once startGit() has run. */
  get repoUrl(): string {
    return this.daemon.url('fleet.git');
  }

  get hub(): HubProcess {
    if (this.#hub === null) throw new Error('the hub is not started (startHub)');
    return this.#hub;
  }

  async startGit(): Promise<void> {
    await this.daemon.start();
  }

  /** The hub on a free loopback port, answering /healthz; `heartbeat` is how soon a silent agent shows Offline. */
  async startHub(heartbeat = '1s'): Promise<HubProcess> {
    const hub = new HubProcess({ dataDir: join(this.work, 'hub'), port: await freePort(), repo: this.repoUrl, heartbeat });
    this.#hub = hub;
    await hub.start(30_000);
    return hub;
  }

  /** A commit pushed, then the webhook that tells the hub about it. */
  async push(revision: string): Promise<void> {
    this.repo.push();
    await this.hub.webhook(revision);
  }

  async stop(): Promise<void> {
    await this.#hub?.stop();
    await this.daemon.stop().catch(() => undefined);
    this.repo.dispose();
  }
}
