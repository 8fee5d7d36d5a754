// An agent built by the real composition root against a real local Git
// repository, for integration tests: commit a tree, run a reconcile, inspect.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadAgentConfig, type AgentConfig } from '../../agent/config/agent-config.ts';
import { createAgent, type AgentParts } from '../../agent/main.ts';
import type { Drivers } from '../../agent/drivers/types.ts';
import type { Trigger } from '../../shared/status.ts';
import { WorkRepo } from '../harness/git-servers.ts';

export interface FleetFixture {
  repo: WorkRepo;
  stateDir: string;
  config: AgentConfig;
  /** Commits `host.yaml` + `apps.yaml` for the host (null values remove keys). */
  commit(resources: Record<string, unknown>, message?: string, hostYaml?: Record<string, unknown>): string;
  commitRaw(files: Record<string, string | null>, message?: string): string;
  /** A fresh agent (as after a restart) on the same state directory. */
  agent(): Promise<AgentParts>;
  run(trigger?: Trigger): ReturnType<AgentParts['cycle']['run']>;
  dispose(): void;
}

export async function fleetFixture(options: { host?: string; config?: Record<string, unknown>; drivers?: Partial<Drivers> } = {}): Promise<FleetFixture> {
  const host = options.host ?? 'h1';
  const root = mkdtempSync(join(tmpdir(), 'gf-fleet-'));
  const repo = new WorkRepo(join(root, 'fleet.git'));
  const stateDir = join(root, 'state');
  const config = loadAgentConfig({ env: {}, overrides: { repo: repo.bare, host, stateDir, healthTimeout: '8s', healthSettle: '500ms', ...options.config } });
  const logger = pino({ level: process.env.GITFLEET_TEST_LOG ?? 'silent' });
  let current: AgentParts | null = null;
  const fixture: FleetFixture = {
    repo,
    stateDir,
    config,
    commit(resources, message = 'update', hostYaml = {}) {
      const id = this.commitRaw({ [`${host}/host.yaml`]: stringify(hostYaml), [`${host}/apps.yaml`]: stringify(resources) }, message);
      return id;
    },
    commitRaw(files, message = 'update') {
      const id = repo.commit(files, message);
      repo.push();
      return id;
    },
    async agent() {
      current = await createAgent(config, logger, options.drivers ? { drivers: options.drivers } : {});
      return current;
    },
    async run(trigger = 'manual') {
      current ??= await this.agent();
      return current.cycle.run(trigger);
    },
    dispose() {
      repo.dispose();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return fixture;
}
