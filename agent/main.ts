// The agent's composition root: builds every object from the configuration and
// wires them — source, drivers, state, the reconciler, and (createDaemon) the
// daemon with its hub link. Nothing else constructs them, so a test swaps any
// of them by passing its own.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { DesiredState } from '../shared/resources.ts';
import { redactUrl } from '../shared/redact.ts';
import { GitSource } from '../repo/git/index.ts';
import { loadDesiredState } from '../repo/tree/index.ts';
import { loadHostKeys } from '../repo/secrets/age-key.ts';
import { processSecrets } from '../shared/secrets/mask.ts';
import type { AgentConfig } from './config/agent-config.ts';
import { intervalMs } from './config/agent-config.ts';
import { DockerContainerDriver } from './drivers/docker/docker-container-driver.ts';
import { createFsFileDriver } from './drivers/files/fs-file-driver.ts';
import { CONTAINER_SECRETS_DIR } from '../shared/resources.ts';
import { createSystemctlUnitDriver } from './drivers/systemd/index.ts';
import type { Drivers } from './drivers/types.ts';
import { FlapGuard } from './engine/flap-guard.ts';
import type { HealthWait } from './engine/converge.ts';
import { HostPolicy } from './policy/host-policy.ts';
import { AgentDaemon, type StatusSink } from './loop/agent-daemon.ts';
import { Reconciler, type Outcome } from './loop/reconciler.ts';
import type { Trigger } from '../shared/status.ts';
import type { AgentMetrics } from './metrics/agent-metrics.ts';
import type { MetricsExporter } from './metrics/metrics-exporter.ts';
import { defaultRetry } from './loop/retry-policy.ts';
import type { DesiredSource } from './source/desired-source.ts';
import { DirectorySource } from './source/directory-source.ts';
import { StateStore } from './state/state-store.ts';
import { unitFilesIn } from './state/host-marks.ts';
import { StatusRecorder } from './state/status-recorder.ts';
import { GatedSource } from './rollout/gated-source.ts';
import { ReleaseGate } from './rollout/release-gate.ts';
import type { Release } from '../shared/protocol.ts';
import { monotonicMs } from '../shared/monotonic.ts';

export const AGENT_VERSION = process.env.GITFLEET_VERSION ?? '0.1.0';

export interface AgentParts {
  config: AgentConfig;
  logger: Logger;
  drivers: Drivers;
  source: DesiredSource;
  store: StateStore;
  recorder: StatusRecorder;
  /** The reconciler (named cycle for the callers that predate it). */
  cycle: Reconciler;
  load: (treeDir: string) => Promise<DesiredState>;
  /** The host policy (re-read on every reconcile) and the admit phase it drives. */
  policy: HostPolicy;
  /** What a commit refusal is stored with: the configuration's key and the host policy's; a change re-tries the head. */
  acceptanceKey: () => string;
}

function isGitRepository(path: string): boolean {
  return existsSync(join(path, '.git')) || (existsSync(join(path, 'HEAD')) && existsSync(join(path, 'objects')));
}

/** A local directory that is not a Git repository is read as a plain directory (for trials). */
export function createSource(config: AgentConfig, logger: Logger): DesiredSource {
  const local = resolve(config.repo);
  if (!/^[a-z+]+:\/\//.test(config.repo) && existsSync(local) && !isGitRepository(local)) {
    return new DirectorySource(local, config.path, join(config.stateDir, 'snapshots'));
  }
  const source = new GitSource(
    { repo: config.repo, ref: config.ref, path: config.path, git: config.git, ...(config.verify ? { verify: config.verify } : {}), allowNonDescendant: config.allowNonDescendant },
    { cacheDir: join(config.stateDir, 'git'), logger },
  );
  return Object.assign(source, { description: `git ${redactUrl(config.repo)} (${config.ref})` });
}

export function createDrivers(config: AgentConfig): Drivers {
  return {
    containers: new DockerContainerDriver({ socketPath: config.docker.socket }),
    units: createSystemctlUnitDriver({ unitDir: config.systemd.unitDir }),
    // The containers' secrets directory is part of the fence: only evaluated `secrets:` write there (docs/secrets.md).
    files: createFsFileDriver({ rootDir: '/', allow: [...config.files.allow, CONTAINER_SECRETS_DIR] }),
  };
}

export interface AgentEvent {
  reason: string;
  message: string;
  resource?: string;
  level: 'info' | 'warning' | 'error';
}

export async function createAgent(
  config: AgentConfig,
  logger: Logger,
  overrides: { drivers?: Partial<Drivers>; source?: DesiredSource; onEvent?: (event: AgentEvent) => void; onSourceError?: (code: string) => void; onHealthWait?: (progress: HealthWait) => void } = {},
): Promise<AgentParts> {
  const real = overrides.drivers && overrides.drivers.containers && overrides.drivers.units && overrides.drivers.files ? null : createDrivers(config);
  const drivers: Drivers = { ...real!, ...overrides.drivers };
  // A one-shot run (`agent --once`, `plan`) holds to the last release the hub sent, as the daemon does (docs/rollouts.md).
  const source = overrides.source ?? (config.hub === undefined ? createSource(config, logger) : await gatedFromDisk(config, logger));
  // The marks the host carries rebuild a lost inventory: container labels always, unit files only from the real unit directory.
  const store = new StateStore(config.stateDir, {
    logger: logger.child({ component: 'state' }),
    hostMarks: { containers: () => drivers.containers.list(), ...(overrides.drivers?.units ? {} : { unitFiles: unitFilesIn(config.systemd.unitDir) }) },
    ...(overrides.onEvent ? { onEvent: overrides.onEvent } : {}),
  });
  const identity = { host: config.host, place: config.place ?? '', tags: [] as string[] };
  const recorder = new StatusRecorder(identity, await store.loadStatus());
  const load = async (treeDir: string): Promise<DesiredState> => {
    // The identity is read at every evaluation, so a new or rotated key needs no restart.
    const keys = await loadHostKeys(config.age.identityFile);
    const desired = await loadDesiredState(treeDir, { host: config.host, keys, ...(config.place ? { place: config.place } : {}) });
    recorder.setIdentity({ place: desired.place, tags: desired.tags });
    return desired;
  };
  const policy = new HostPolicy({ path: config.policy, filesAllow: config.files.allow, logger: logger.child({ component: 'policy' }) });
  const decisive = configKey(config);
  // A policy edit on the host changes the key: a head the old policy refused is tried again.
  const acceptanceKey = () => `${decisive}:${policy.key()}`;
  // At least a second: a zero interval would retry a failing head in a tight loop.
  const retryBaseMs = Math.max(1000, intervalMs(config.retryInterval));
  const cycle = new Reconciler({
    source,
    load,
    drivers,
    store,
    recorder,
    flapGuard: new FlapGuard(),
    logger: logger.child({ component: 'reconciler' }),
    healthTimeoutMs: intervalMs(config.healthTimeout),
    healthSettleMs: intervalMs(config.healthSettle),
    ...(config.adopt ? { adopt: true } : {}),
    admit: (desired, treeDir) => policy.admit(desired, treeDir),
    retry: { baseMs: retryBaseMs, maxMs: Math.max(defaultRetry.maxMs, retryBaseMs) },
    configKey: acceptanceKey,
    ...(overrides.onEvent ? { onEvent: overrides.onEvent } : {}),
    ...(overrides.onSourceError ? { onSourceError: overrides.onSourceError } : {}),
    ...(overrides.onHealthWait ? { onHealthWait: overrides.onHealthWait } : {}),
  });
  return { config, logger, drivers, source, store, recorder, cycle, load, policy, acceptanceKey };
}

/**
 * A fingerprint of everything in the configuration that decides whether a
 * commit is accepted; a commit refused under one configuration is tried again
 * under a new one. Secrets are left out (they never decide acceptance).
 */
export function configKey(config: AgentConfig): string {
  const { token: _token, tokenFile: _tokenFile, git: _git, hub: _hub, metrics: _metrics, ...decisive } = config;
  return createHash('sha256').update(JSON.stringify(decisive)).digest('hex').slice(0, 16);
}

export interface AgentRuntime {
  agent: AgentParts;
  daemon: AgentDaemon;
  /** The hub link, when a hub is configured (started by the caller after its signal handlers). */
  hub: (StatusSink & { start(): void; stop(): Promise<void> | void }) | null;
  /** The metrics textfile and endpoint, when configured (closed by the caller after the daemon). */
  metrics: MetricsExporter | null;
}

/**
 * The daemon, composed: the hub client first (so the first reconcile's events
 * queue for it), the agent, then the daemon with its triggers and retries. The
 * hub's reconcile-now arrives as a manual sync when a person asked for it (a
 * click or an API call) and as a hub trigger after a push.
 */
export async function createAgentRuntime(config: AgentConfig, logger: Logger, overrides: { drivers?: Partial<Drivers>; source?: DesiredSource } = {}): Promise<AgentRuntime> {
  const previous = await new StateStore(config.stateDir).loadStatus();
  let daemon: AgentDaemon | null = null;
  // With a hub, a staged rollout may hold this host at the revision the hub released (docs/rollouts.md).
  const gate = config.hub === undefined ? null : await releaseGate(config, logger, () => void daemon?.trigger('hub'));
  // The hub client (ws, the facts probes) is loaded only when a hub is configured.
  const hub = config.hub === undefined
    ? null
    : (await import('./cli/hub-link.ts')).createHubClient(
        config,
        logger,
        AGENT_VERSION,
        { place: previous?.place ?? config.place ?? '', tags: previous?.tags ?? [] },
        (reason, origin) => {
          logger.info({ reason, origin }, 'reconcile requested by the hub');
          void daemon?.trigger(origin === 'api' ? 'manual' : 'hub');
        },
        gate?.hubHooks,
      );
  // The metrics code is loaded only when metrics are configured: an agent without them pays nothing.
  const metrics = config.metrics?.textfileDir !== undefined || config.metrics?.listen !== undefined ? await createMetrics(config, logger) : null;
  // Events leave the process here: masked like every other exit (docs/secrets.md).
  const source = overrides.source ?? createSource(config, logger);
  const agent = await createAgent(config, logger, {
    source: gate ? new GatedSource(source, gate.gate) : source,
    ...(overrides.drivers ? { drivers: overrides.drivers } : {}),
    ...(hub ? { onEvent: (e: AgentEvent) => hub.reportEvent(processSecrets.maskDeep(e)) } : {}),
    ...(metrics ? { onSourceError: (code: string) => metrics.values.sourceError(code) } : {}),
  });
  daemon = new AgentDaemon({
    cycle: agent.cycle,
    status: () => agent.recorder.snapshot,
    containers: agent.drivers.containers,
    logger,
    poll: /\s/.test(String(config.interval)) ? String(config.interval) : intervalMs(config.interval),
    driftCheckMs: intervalMs(config.driftInterval),
    ...(hub ? { sink: hub } : {}),
    ...(metrics
      ? {
          onOutcome: (trigger: Trigger, outcome: Outcome, durationMs: number) => {
            metrics.values.observe(trigger, outcome, durationMs, agent.recorder.snapshot);
            void metrics.exporter.publish();
          },
        }
      : {}),
  });
  if (metrics) {
    const address = await metrics.exporter.listen();
    if (address) logger.info({ address: `${address.address}:${address.port}` }, 'serving metrics at /metrics');
  }
  return { agent, daemon, hub, metrics: metrics?.exporter ?? null };
}

/** The source behind the release the hub last sent (kept in the state directory), for runs without a hub connection. */
async function gatedFromDisk(config: AgentConfig, logger: Logger): Promise<DesiredSource> {
  const gate = new ReleaseGate({ stateDir: config.stateDir, whenHubUnreachable: config.rollout.whenHubUnreachable, proceedAfterMs: intervalMs(config.rollout.proceedAfter), logger: logger.child({ component: 'rollout' }) });
  await gate.load();
  return new GatedSource(createSource(config, logger), gate);
}

/**
 * The release gate and its hub hooks: a new release, or the hub coming back or
 * going away, reconciles when it changes what the host may apply; with
 * `whenHubUnreachable: proceed` a timer reconciles when proceedAfter is up.
 */
async function releaseGate(config: AgentConfig, logger: Logger, reconcile: () => void): Promise<{ gate: ReleaseGate; hubHooks: { onRelease: (r: Release) => void; onConnection: (c: boolean) => void } }> {
  const gate = new ReleaseGate({
    stateDir: config.stateDir,
    whenHubUnreachable: config.rollout.whenHubUnreachable,
    proceedAfterMs: intervalMs(config.rollout.proceedAfter),
    logger: logger.child({ component: 'rollout' }),
  });
  await gate.load();
  let proceedTimer: NodeJS.Timeout | null = null;
  const armProceed = () => {
    if (proceedTimer) clearTimeout(proceedTimer);
    proceedTimer = null;
    const due = gate.proceedDueAt();
    if (due === null) return;
    proceedTimer = setTimeout(reconcile, Math.max(0, due - monotonicMs()));
    proceedTimer.unref();
  };
  armProceed();
  return {
    gate,
    hubHooks: {
      onRelease: (release) => {
        void gate.update(release).then((changed) => {
          armProceed();
          if (changed) reconcile();
        });
      },
      onConnection: (connected) => {
        const before = JSON.stringify(gate.decision());
        gate.hubConnected(connected);
        armProceed();
        if (JSON.stringify(gate.decision()) !== before) reconcile();
      },
    },
  };
}

async function createMetrics(config: AgentConfig, logger: Logger): Promise<{ values: AgentMetrics; exporter: MetricsExporter }> {
  const [{ AgentMetrics }, { MetricsExporter }] = await Promise.all([import('./metrics/agent-metrics.ts'), import('./metrics/metrics-exporter.ts')]);
  const values = new AgentMetrics(config.host);
  return { values, exporter: new MetricsExporter(values, config.metrics ?? {}, logger.child({ component: 'metrics' })) };
}
