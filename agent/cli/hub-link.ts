// Connects the daemon to the hub when one is configured: status snapshots and
// events go up, reconcile-now comes down. The hub is never on the critical
// path: the client queues on disk and reconnects by itself.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { GitfleetError, messageOf } from '../../shared/errors.ts';
import { loadHostKeys } from '../../repo/secrets/age-key.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import { collectFacts } from '../facts.ts';
import { HubClient } from '../report/index.ts';
import type { HubClientOptions } from '../report/hub-client.ts';

export function enrollmentToken(config: AgentConfig): string | undefined {
  if (config.token !== undefined) return config.token;
  if (config.tokenFile === undefined) return undefined;
  try {
    return readFileSync(config.tokenFile, 'utf8').trim();
  } catch (error) {
    throw new GitfleetError('CONFIG_INVALID', `config key "tokenFile": cannot read ${config.tokenFile}: ${(error as Error).message}`, { cause: error });
  }
}

/** The host's public key for the hub (never the identity); null without a key file. */
async function ageRecipient(file: string, logger: Logger): Promise<{ recipient: string } | null> {
  try {
    const keys = await loadHostKeys(file);
    return keys ? { recipient: keys.recipients[0]! } : null;
  } catch (error) {
    logger.warn({ err: messageOf(error) }, 'the age identity file cannot be read; no public key reported');
    return null;
  }
}

export function createHubClient(
  config: AgentConfig,
  logger: Logger,
  version: string,
  known: { place: string; tags: string[] },
  onReconcileNow: (reason: string, origin?: 'api' | 'webhook') => void,
  rollout?: Pick<HubClientOptions, 'onRelease' | 'onConnection'>,
): HubClient | null {
  if (!config.hub) return null;
  const token = enrollmentToken(config);
  return new HubClient({
    url: config.hub,
    ...(token === undefined ? {} : { enrollmentToken: token }),
    stateDir: config.stateDir,
    host: config.host,
    place: known.place,
    tags: known.tags,
    agentVersion: version,
    facts: async () => ({ ...(await collectFacts(undefined, config.docker.socket)), age: await ageRecipient(config.age.identityFile, logger) }),
    logger: logger.child({ component: 'hub-client' }),
    onReconcileNow,
    ...rollout,
  });
}
