// A Reconciler on the in-memory drivers and a plain-directory fleet tree, with
// an injected clock and deterministic backoff: fast tests of retries,
// refusals, rollback and conditions without Docker, systemd or a Git server.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import type { Drivers } from '../../agent/drivers/types.ts';
import { FlapGuard } from '../../agent/engine/flap-guard.ts';
import { AgentDaemon } from '../../agent/loop/agent-daemon.ts';
import { Reconciler, type Outcome } from '../../agent/loop/reconciler.ts';
import type { DesiredSource, Snapshot } from '../../agent/source/desired-source.ts';
import { DirectorySource } from '../../agent/source/directory-source.ts';
import { StateStore } from '../../agent/state/state-store.ts';
import { StatusRecorder } from '../../agent/state/status-recorder.ts';
import { admitDesiredState } from '../../agent/admission.ts';
import { loadDesiredState } from '../../repo/tree/index.ts';
import type { HostStatus, Trigger } from '../../shared/status.ts';

export const MINUTE = 60_000;

/** A directory source that can be told to fail like a Git source does (signature, ancestry, outage). */
export class SwitchableSource implements DesiredSource {
  readonly description = 'test fleet';
  failure: Error | null = null;
  constructor(private readonly inner: DirectorySource) {}
  sync(): Promise<Snapshot> {
    if (this.failure) return Promise.reject(this.failure);
    return this.inner.sync();
  }
  snapshot(revision: string): Promise<Snapshot> {
    return this.inner.snapshot(revision);
  }
  prune(keep: string[]): Promise<void> {
    return this.inner.prune(keep);
  }
}

export interface ReconcilerFixture {
  root: string;
  stateDir: string;
  drivers: Drivers & { containers: MemoryContainerDriver; files: MemoryFileDriver };
  source: SwitchableSource;
  clock: { now: number };
  recorder: StatusRecorder;
  store: StateStore;
  reconciler: Reconciler;
  /** Writes the host's resources (replacing the previous tree). */
  write(resources: Record<string, unknown>, hostYaml?: Record<string, unknown>): void;
  writeRaw(files: Record<string, string>): void;
  /** A new Reconciler on the same state (an agent restart), optionally under another config. */
  restart(options?: { configKey?: string }): Reconciler;
  dispose(): void;
}

export function reconcilerFixture(options: { retryBaseMs?: number; healthTimeoutMs?: number; configKey?: string; random?: () => number; realClock?: boolean } = {}): ReconcilerFixture {
  const root = mkdtempSync(join(tmpdir(), 'gf-reconciler-'));
  const tree = join(root, 'fleet');
  const stateDir = join(root, 'state');
  mkdirSync(tree, { recursive: true });
  const drivers = {
    containers: new MemoryContainerDriver({ images: ['local/app:1'] }),
    units: new MemoryUnitDriver(),
    files: new MemoryFileDriver({ allow: ['/srv'] }),
  };
  const source = new SwitchableSource(new DirectorySource(tree, '.', join(stateDir, 'snapshots')));
  const clock = { now: Date.parse('2026-03-01T12:00:00Z') };
  const store = new StateStore(stateDir);
  const recorder = new StatusRecorder({ host: 'h1', place: '', tags: [] }, null, () => new Date(clock.now));
  const logger = pino({ level: process.env.GITFLEET_TEST_LOG ?? 'silent' });
  const build = (configKey = options.configKey ?? 'config-a'): Reconciler =>
    new Reconciler({
      source,
      load: (treeDir) => loadDesiredState(treeDir, { host: 'h1' }),
      drivers,
      store,
      recorder,
      flapGuard: new FlapGuard(),
      logger,
      healthTimeoutMs: options.healthTimeoutMs ?? 2000,
      healthSettleMs: 30,
      healthPollMs: 10,
      admit: (desired) => admitDesiredState(desired, ['/srv']),
      now: options.realClock ? Date.now : () => clock.now,
      retry: { baseMs: options.retryBaseMs ?? MINUTE, maxMs: 30 * MINUTE, random: options.random ?? (() => 0) },
      configKey,
    });
  const writeRaw = (files: Record<string, string>) => {
    rmSync(tree, { recursive: true, force: true });
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      writeFileSync(join(tree, path), content);
    }
  };
  const fixture: ReconcilerFixture = {
    root,
    stateDir,
    drivers,
    source,
    clock,
    recorder,
    store,
    reconciler: build(),
    write(resources, hostYaml = {}) {
      writeRaw({ 'h1/host.yaml': stringify(hostYaml), 'h1/apps.yaml': stringify(resources) });
    },
    writeRaw,
    restart(o = {}) {
      this.reconciler = build(o.configKey);
      return this.reconciler;
    },
    dispose() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** One container of image `image` (never pulled: a missing image is a host failure). */
export function app(image: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { containers: { web: { image, pull: 'never', ...extra } }, files: { '/srv/app.conf': { content: `image ${image}\n` } } };
}

/**
 * The daemon around a fixture's Reconciler (polls and drift checks an hour apart unless `extra` says
 * otherwise): the statuses it reports and every pass's outcome, with when it ended.
 */
export function fixtureDaemon(f: ReconcilerFixture, extra: Partial<ConstructorParameters<typeof AgentDaemon>[0]> = {}) {
  const reports: HostStatus[] = [];
  const outcomes: Array<{ trigger: Trigger; outcome: Outcome; at: number }> = [];
  const daemon = new AgentDaemon({
    cycle: f.reconciler,
    status: () => f.recorder.snapshot,
    containers: f.drivers.containers,
    logger: pino({ level: 'silent' }),
    poll: 3_600_000,
    driftCheckMs: 3_600_000,
    sink: { reportStatus: (s) => reports.push(structuredClone(s)) },
    onOutcome: (trigger, outcome) => outcomes.push({ trigger, outcome, at: Date.now() }),
    ...extra,
  });
  return { daemon, reports, outcomes };
}
