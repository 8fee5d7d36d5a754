// Options shared by `gitfleet agent` and `gitfleet plan`: a config file plus
// command-line overrides, so a local trial needs no config file at all.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { GitfleetError, isGitfleetError } from '../../shared/errors.ts';
import { parseCommandArgs } from '../../repo/cli/args.ts';
import { suggest } from '../../shared/suggest.ts';
import { AgentConfigSchema, loadAgentConfig, type AgentConfig } from '../config/agent-config.ts';
import { ensureStateDir } from './state-dir.ts';

export const DEFAULT_CONFIG = '/etc/gitfleet/agent.yaml';

export const agentOptionSpec = {
  config: { type: 'string', short: 'c' },
  repo: { type: 'string' },
  ref: { type: 'string' },
  path: { type: 'string' },
  host: { type: 'string' },
  place: { type: 'string' },
  'state-dir': { type: 'string' },
  'files-allow': { type: 'string' },
  adopt: { type: 'boolean' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const agentOptionHelp = `  -c, --config FILE        agent config (default ${DEFAULT_CONFIG}; optional when --repo is given)
      --repo REPO           fleet repository: URL, local Git repo, or a plain directory for trials
      --ref REF             branch, tag or commit (default main)
      --path DIR            the fleet tree inside the repo (default .)
      --host ID             this host's id (default: the hostname)
      --place DIR           leaf directory for a host without a directory of its own
      --state-dir DIR       where the agent keeps its inventory and status (default /var/lib/gitfleet)
      --files-allow DIRS    comma-separated directories file resources may write (default /etc,/srv,/opt)
      --adopt               take over running containers, units and files that match their declaration
                            instead of recreating them (docs/adopt.md; host.yaml adopt: true does it per host)
      --json                machine-readable output`;

type AgentArgValues = { [K in keyof typeof agentOptionSpec]?: (typeof agentOptionSpec)[K]['type'] extends 'string' ? string | undefined : boolean | undefined };

/** Every key of the agent config, nested ones as `git.tokenFile`, for "did you mean". */
function configKeys(): string[] {
  const keys: string[] = [];
  for (const [key, schema] of Object.entries(AgentConfigSchema.shape)) {
    keys.push(key);
    let inner: z.core.$ZodType = schema;
    while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.core.$ZodType;
    if (inner instanceof z.ZodObject) for (const child of Object.keys(inner.shape)) keys.push(`${key}.${child}`);
  }
  return keys;
}

/** An unknown config key names the key it probably meant. */
function withSuggestion(error: unknown): unknown {
  if (!isGitfleetError(error, 'CONFIG_INVALID')) return error;
  const typed = /unknown config key "([^"]+)"/.exec(error.message)?.[1];
  const meant = typed === undefined ? null : suggest(typed, configKeys());
  return meant === null ? error : new GitfleetError('CONFIG_INVALID', `${error.message}; did you mean "${meant}"?`, { cause: error });
}

export async function configFromArgs(values: AgentArgValues): Promise<AgentConfig> {
  const file = values.config ?? (existsSync(DEFAULT_CONFIG) || values.repo === undefined ? DEFAULT_CONFIG : undefined);
  let config: AgentConfig;
  try {
    config = loadAgentConfig({
      ...(file === undefined ? {} : { file }),
      requireFile: values.config !== undefined || values.repo === undefined,
      overrides: {
        repo: values.repo,
        ref: values.ref,
        path: values.path,
        host: values.host,
        place: values.place,
        stateDir: values['state-dir'],
        'files.allow': values['files-allow']?.split(',').map((d) => d.trim()).filter(Boolean),
        // Only an explicit --adopt overrides the config file's `adopt`.
        adopt: values.adopt === true ? true : undefined,
      },
    });
  } catch (error) {
    throw withSuggestion(error);
  }
  await ensureStateDir(config.stateDir, values['state-dir'] !== undefined || process.env.GITFLEET_STATE_DIR !== undefined);
  return config;
}

export function parseAgentArgs<T extends Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }>>(command: string, argv: string[], extra: T) {
  return parseCommandArgs(command, argv, { ...agentOptionSpec, ...extra });
}
