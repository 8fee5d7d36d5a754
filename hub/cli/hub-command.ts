// `gitfleet hub [--config FILE]`: runs the hub until SIGTERM/SIGINT.
// Without --config, /etc/gitfleet/hub.yaml is read when it exists; every key
// can also come from its GITFLEET_HUB_* variable (docs/hub.md).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandArgs } from '../../repo/cli/args.ts';
import { logDestination } from '../../repo/cli/log-destination.ts';
import { pino } from 'pino';
import { GitfleetError, isGitfleetError } from '../../shared/errors.ts';
import { hubEnv, loadHubConfig } from '../config.ts';
import { suggest } from '../../shared/suggest.ts';
import { startHub } from '../main.ts';
import { GitRepoView } from '../git/git-repo-view.ts';

export const DEFAULT_HUB_CONFIG = '/etc/gitfleet/hub.yaml';

const usage = `usage: gitfleet hub [--config FILE]

Runs the hub: the agents' WebSocket endpoint (/agent), the JSON API (/api/v1),
the web view, /metrics and /healthz. Configuration: FILE (default
${DEFAULT_HUB_CONFIG} when it exists) and GITFLEET_HUB_* variables; see docs/hub.md.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('hub', argv, { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const file = values.config ?? (existsSync(DEFAULT_HUB_CONFIG) ? DEFAULT_HUB_CONFIG : undefined);
  let config;
  try {
    config = loadHubConfig(file);
  } catch (error) {
    if (isGitfleetError(error, 'CONFIG_INVALID')) {
      // A mistyped key names the key meant (every key has a GITFLEET_HUB_* variable, so hubEnv lists them all).
      const typed = /: ([A-Za-z.]+): not a hub configuration key/.exec(error.message)?.[1];
      const meant = typed === undefined ? null : suggest(typed, Object.keys(hubEnv));
      process.stderr.write(`gitfleet: ${error.message}${meant ? `; did you mean "${meant}"?` : ''}\n`);
      return 2;
    }
    throw error;
  }
  // JSON for journald, human-readable lines on a terminal (GITFLEET_LOG_FORMAT overrides), as the agent's.
  const logger = pino({ level: config.logLevel, base: { service: 'gitfleet-hub' }, timestamp: pino.stdTimeFunctions.isoTime }, logDestination(1));
  const repoView = config.repo
    ? new GitRepoView(
        { repo: config.repo.url, ref: config.repo.ref, path: config.repo.path, git: config.repo.git, verify: config.repo.verify },
        { cacheDir: join(config.dataDir, 'repo-cache'), logger },
      )
    : null;
  let hub;
  try {
    hub = await startHub({ config, logger, repoView });
  } catch (error) {
    if (error instanceof GitfleetError && error.code === 'CONFIG_INVALID') {
      process.stderr.write(`gitfleet: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'hub stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await hub.close();
  logger.flush();
  return 0;
}
