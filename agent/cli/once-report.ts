// `agent --once` with a hub configured: the run reports like the daemon does
// (its events while it runs, then its attempt and status), waits a bounded
// time for the hub to acknowledge, and says whether it did. The exit code
// never depends on the hub; what the hub did not take stays queued on disk
// and the agent daemon sends it when it runs.
import type { Logger } from 'pino';
import { redactUrl } from '../../shared/redact.ts';
import { processSecrets } from '../../shared/secrets/mask.ts';
import type { HostStatus } from '../../shared/status.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import type { AgentEvent } from '../main.ts';

/** How long `--once` waits for the hub to acknowledge its report (docs/cli.md). */
export const ONCE_REPORT_TIMEOUT_MS = 10_000;

export interface OnceReport {
  /** The hub's URL without credentials. */
  hub: string;
  delivered: boolean;
  /** Why not, when not delivered. */
  reason: string | null;
}

export interface OnceHubLink {
  onEvent(event: AgentEvent): void;
  /** Reports the final status and waits for the hub's acknowledgement, at most ONCE_REPORT_TIMEOUT_MS. */
  finish(status: HostStatus): Promise<OnceReport>;
}

/** Null without a hub; otherwise the link, already connecting while the reconcile runs. */
export async function onceHubLink(config: AgentConfig, logger: Logger, version: string, timeoutMs = ONCE_REPORT_TIMEOUT_MS): Promise<OnceHubLink | null> {
  const url = config.hub;
  if (url === undefined) return null;
  const { createHubClient } = await import('./hub-link.ts');
  // A reconcile-now from the hub means nothing to a run that is already reconciling.
  const client = createHubClient(config, logger, version, { place: config.place ?? '', tags: [] }, () => {});
  if (client === null) return null;
  client.start();
  return {
    // Events leave the process here: masked like every other exit (docs/secrets.md).
    onEvent: (event) => client.reportEvent(processSecrets.maskDeep(event)),
    async finish(status) {
      client.reportStatus(status);
      const result = await client.drain(timeoutMs);
      await client.stop();
      return { hub: redactUrl(url), ...result };
    },
  };
}
