// `gitfleet agent`: the daemon, or with --once a single reconcile whose exit
// code is the result.
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { HostStatus } from '../../shared/status.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import type { Outcome } from '../loop/reconciler.ts';
import { createLogger } from '../logger.ts';
import { AGENT_VERSION, createAgent, createAgentRuntime, type AgentRuntime } from '../main.ts';
import { terminalText } from '../../shared/terminal-text.ts';
import { bold, dim, formatStatuses, green, red, yellow } from './format.ts';
import { healthProgress } from './health-progress.ts';
import { onceHubLink } from './once-report.ts';
import { agentOptionHelp, configFromArgs, parseAgentArgs } from './options.ts';

const help = `usage: gitfleet agent [--once] [options]

Runs the agent: pulls this host's part of the fleet repository, converges its
containers, units and files, corrects drift, and reports to the hub (if set).
With --once, runs one reconcile and exits.

      --once           one reconcile (a manual sync: retries a failed head at once); exit 0 when converged
${agentOptionHelp}

exit codes (--once): 0 converged at the head; 1 failed, rolled back, not converged, or the
head refused (signature, ancestry, validation, policy) — the reason is printed on stdout;
2 usage or configuration error`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseAgentArgs('agent', argv, { once: { type: 'boolean', default: false } });
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const config = await configFromArgs(values);
  if (values.once) return runOnce(config, values.json);

  const logger = createLogger();
  // Signal handlers first: a `systemctl reload` (SIGHUP) that arrives while the
  // agent is still starting must not kill it.
  let stopRequested: string | null = null;
  let onStop: ((signal: string) => void) | null = null;
  let runtime: AgentRuntime | null = null;
  const requestStop = (signal: string) => {
    stopRequested ??= signal;
    onStop?.(signal);
  };
  process.once('SIGTERM', () => requestStop('SIGTERM'));
  process.once('SIGINT', () => requestStop('SIGINT'));
  // A person's reload is a manual sync: it retries a failed head at once and corrects reported drift.
  process.on('SIGHUP', () => void runtime?.daemon.trigger('manual'));
  runtime = await createAgentRuntime(config, logger);
  const { agent, daemon, hub } = runtime;
  hub?.start();
  logger.info({ host: config.host, repo: agent.source.description, version: AGENT_VERSION, hub: config.hub ?? null }, 'agent starting');
  await new Promise<void>((resolve) => {
    let stopping = false;
    onStop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'agent stopping');
      // Aborts a running reconcile at its next safe point (a health wait ends at once).
      void daemon.stop().then(() => hub?.stop()).then(() => runtime?.metrics?.close()).then(() => resolve(), () => resolve());
    };
    if (stopRequested !== null) {
      onStop(stopRequested);
      return;
    }
    daemon.start().catch((error: unknown) => logger.error({ err: messageOf(error) }, 'first reconcile failed'));
  });
  return 0;
}

async function runOnce(config: Parameters<typeof createAgent>[0], json: boolean): Promise<number> {
  const logger = createLogger({ level: process.env.GITFLEET_LOG_LEVEL ?? 'warn', toStderr: true });
  const sourceErrors: string[] = [];
  // With a hub configured, the run reports to it like the daemon (connecting while the reconcile runs).
  const hubLink = await onceHubLink(config, logger, AGENT_VERSION);
  // Progress while a health gate waits, on stderr: rewritten in place on a terminal, one line per change otherwise.
  const progress = healthProgress((text) => process.stderr.write(text), process.stderr.isTTY === true);
  const agent = await createAgent(config, logger, { onSourceError: (code) => sourceErrors.push(code), onHealthWait: progress.onHealthWait, ...(hubLink ? { onEvent: hubLink.onEvent } : {}) });
  const started = Date.now();
  const outcome = await agent.cycle.run('manual');
  progress.done();
  const status = agent.recorder.snapshot;
  if (config.metrics?.textfileDir !== undefined) await writeOnceMetrics(config, logger, outcome, Date.now() - started, status, sourceErrors);
  const ok = outcome.converged && (outcome.result === 'Succeeded' || outcome.result === 'NoChange');
  // The exit code never depends on the hub (docs/cli.md).
  const report = hubLink ? await hubLink.finish(status) : null;
  if (json) {
    process.stdout.write(`${JSON.stringify({ outcome, status, report }, null, 2)}\n`);
  } else {
    const attempt = status.attempts[0];
    const head = ok ? green('converged') : outcome.result === 'RolledBack' ? yellow('rolled back') : red(outcome.result === 'NoChange' ? 'not converged' : outcome.result.toLowerCase());
    const at = (outcome.revision ?? 'no revision').slice(0, 12);
    const refused = outcome.refused;
    const lines = [
      refused && outcome.result === 'Refused'
        ? `${bold(config.host)} ${head} head ${refused.revision?.slice(0, 12) ?? '(unknown)'}; the host stays at ${at}`
        : `${bold(config.host)} ${head} at ${at}`,
    ];
    if (outcome.result === 'NoChange') lines.push('  no changes: the host already matched');
    else if (attempt?.trigger === 'rollback') {
      // The rollback's steps undo the failed revision: they are not drift corrections.
      const failed = status.attempts[1];
      lines.push(`  rolled back to ${attempt.revision.slice(0, 12)}: ${attempt.intended.length + attempt.driftCorrected.length} step(s) undid revision ${failed?.revision.slice(0, 12) ?? '(unknown)'} in ${attempt.durationMs} ms`);
    } else if (attempt) lines.push(`  ${attempt.intended.length} intended change(s), ${attempt.driftCorrected.length} drift correction(s) in ${attempt.durationMs} ms`);
    if (outcome.reason) lines.push(`  reason: ${outcome.reason}${outcome.message ? ` — ${outcome.message}` : ''}`);
    else if (!ok) {
      const ready = status.conditions.find((c) => c.type === 'Ready');
      if (ready && !ready.status) lines.push(`  reason: ${ready.reason} — ${ready.message}`);
    }
    if (outcome.retryAt) lines.push(`  the agent daemon retries at ${new Date(outcome.retryAt).toISOString()}; run --once again to retry now`);
    lines.push(...formatStatuses(status.resources));
    if (report?.delivered) lines.push(dim(`  reported to the hub (${report.hub})`));
    else if (report) lines.push(yellow(`  not reported to the hub (${report.hub}): ${terminalText(report.reason ?? 'no answer')}; the report stays queued and the agent daemon sends it when it runs`));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return ok ? 0 : 1;
}

/** A one-shot run (a cron job or a timer) leaves its metrics for node_exporter too. */
async function writeOnceMetrics(config: AgentConfig, logger: Logger, outcome: Outcome, durationMs: number, status: HostStatus, sourceErrors: string[]): Promise<void> {
  const [{ AgentMetrics }, { MetricsExporter }] = await Promise.all([import('../metrics/agent-metrics.ts'), import('../metrics/metrics-exporter.ts')]);
  const values = new AgentMetrics(config.host);
  for (const code of sourceErrors) values.sourceError(code);
  values.observe('manual', outcome, durationMs, status);
  await new MetricsExporter(values, { textfileDir: config.metrics?.textfileDir }, logger).publish();
}
