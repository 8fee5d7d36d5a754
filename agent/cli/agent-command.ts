// `gitfleet agent`: the daemon, or with --once a single reconcile whose exit
// code is the result.
import { messageOf } from '../../shared/errors.ts';
import { createLogger } from '../logger.ts';
import { AGENT_VERSION, createAgent } from '../main.ts';
import { AgentDaemon } from '../loop/agent-daemon.ts';
import { intervalMs } from '../config/agent-config.ts';
import { bold, formatStatuses, green, red, yellow } from './format.ts';
import { agentOptionHelp, configFromArgs, parseAgentArgs } from './options.ts';
import { StateStore } from '../state/state-store.ts';

const help = `usage: gitfleet agent [--once] [options]

Runs the agent: pulls this host's part of the fleet repository, converges its
containers, units and files, corrects drift, and reports to the hub (if set).
With --once, runs one reconcile and exits.

      --once           one reconcile; exit 0 when the host converged
${agentOptionHelp}

exit codes (--once): 0 converged, 1 failed, refused or rolled back (the reason is printed), 2 usage or configuration error`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseAgentArgs(argv, { once: { type: 'boolean', default: false } });
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const config = configFromArgs(values);
  if (values.once) return runOnce(config, values.json);

  const logger = createLogger();
  // Signal handlers first: a `systemctl reload` (SIGHUP) that arrives while the
  // agent is still starting must not kill it.
  let stopRequested: string | null = null;
  let onStop: ((signal: string) => void) | null = null;
  const requestStop = (signal: string) => {
    stopRequested ??= signal;
    onStop?.(signal);
  };
  process.once('SIGTERM', () => requestStop('SIGTERM'));
  process.once('SIGINT', () => requestStop('SIGINT'));
  process.on('SIGHUP', () => void daemon?.trigger('manual'));
  // The hub client exists before the agent so that events of the first reconcile are queued for it.
  let daemon: AgentDaemon | null = null;
  const previous = await new StateStore(config.stateDir).loadStatus();
  // The hub client (ws, systeminformation) is loaded only when a hub is configured.
  const hub = config.hub === undefined ? null : (await import('./hub-link.ts')).createHubClient(config, logger, AGENT_VERSION, { place: previous?.place ?? config.place ?? '', tags: previous?.tags ?? [] }, (reason, origin) => {
    logger.info({ reason, origin }, 'reconcile requested by the hub');
    // A person's click is a manual sync (it also corrects reported drift); a push is a poll that cannot wait.
    void daemon?.trigger(origin === 'api' ? 'manual' : 'hub');
  });
  const agent = await createAgent(config, logger, hub ? { onEvent: (e) => hub.reportEvent(e) } : {});
  daemon = new AgentDaemon({
    cycle: agent.cycle,
    status: () => agent.recorder.snapshot,
    containers: agent.drivers.containers,
    logger,
    poll: /\s/.test(String(config.interval)) ? String(config.interval) : intervalMs(config.interval),
    driftCheckMs: intervalMs(config.driftInterval),
    ...(hub ? { sink: hub } : {}),
  });
  const running = daemon;
  hub?.start();
  logger.info({ host: config.host, repo: agent.source.description, version: AGENT_VERSION, hub: config.hub ?? null }, 'agent starting');
  await new Promise<void>((resolve) => {
    let stopping = false;
    onStop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'agent stopping');
      void running.stop().then(() => hub?.stop()).then(() => resolve(), () => resolve());
    };
    if (stopRequested !== null) {
      onStop(stopRequested);
      return;
    }
    running.start().catch((error: unknown) => logger.error({ err: messageOf(error) }, 'first reconcile failed'));
  });
  return 0;
}

async function runOnce(config: Parameters<typeof createAgent>[0], json: boolean): Promise<number> {
  const logger = createLogger({ level: process.env.GITFLEET_LOG_LEVEL ?? 'warn', toStderr: true });
  const agent = await createAgent(config, logger);
  const outcome = await agent.cycle.run('manual');
  const status = agent.recorder.snapshot;
  const ok = outcome.converged && (outcome.result === 'Succeeded' || outcome.result === 'NoChange');
  if (json) {
    process.stdout.write(`${JSON.stringify({ outcome, status }, null, 2)}\n`);
  } else {
    const attempt = status.attempts[0];
    const head = ok ? green('converged') : outcome.result === 'RolledBack' ? yellow('rolled back') : red(outcome.result === 'NoChange' ? 'not converged' : outcome.result.toLowerCase());
    const lines = [`${bold(config.host)} ${head} at ${(outcome.revision ?? 'no revision').slice(0, 12)}`];
    if (outcome.result === 'NoChange') lines.push('  no changes: the host already matched');
    else if (attempt) lines.push(`  ${attempt.intended.length} intended change(s), ${attempt.driftCorrected.length} drift correction(s) in ${attempt.durationMs} ms`);
    if (outcome.reason) lines.push(`  reason: ${outcome.reason}${outcome.message ? ` — ${outcome.message}` : ''}`);
    else if (!ok) {
      const ready = status.conditions.find((c) => c.type === 'Ready');
      if (ready && !ready.status) lines.push(`  reason: ${ready.reason} — ${ready.message}`);
    }
    lines.push(...formatStatuses(status.resources));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return ok ? 0 : 1;
}
