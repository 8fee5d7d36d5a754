// Options shared by `gitfleet agent` and `gitfleet plan`: a config file plus
// command-line overrides, so a local trial needs no config file at all.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { loadAgentConfig, type AgentConfig } from '../config/agent-config.ts';

export const DEFAULT_CONFIG = '/etc/gitfleet/agent.yaml';

export const agentOptionSpec = {
  config: { type: 'string', short: 'c' },
  repo: { type: 'string' },
  ref: { type: 'string' },
  path: { type: 'string' },
  host: { type: 'string' },
  place: { type: 'string' },
  'state-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const agentOptionHelp = `  -c, --config FILE   agent config (default ${DEFAULT_CONFIG}; optional when --repo is given)
      --repo REPO      fleet repository: URL, local Git repo, or a plain directory for trials
      --ref REF        branch, tag or commit (default main)
      --path DIR       the fleet tree inside the repo (default .)
      --host ID        this host's id (default: the hostname)
      --place DIR      leaf directory for a host without a directory of its own
      --state-dir DIR  where the agent keeps its inventory and status (default /var/lib/gitfleet)
      --json           machine-readable output`;

export function configFromArgs(values: { config?: string | undefined; repo?: string | undefined; ref?: string | undefined; path?: string | undefined; host?: string | undefined; place?: string | undefined; 'state-dir'?: string | undefined }): AgentConfig {
  const file = values.config ?? (existsSync(DEFAULT_CONFIG) || values.repo === undefined ? DEFAULT_CONFIG : undefined);
  return loadAgentConfig({
    ...(file === undefined ? {} : { file }),
    requireFile: values.config !== undefined || values.repo === undefined,
    overrides: { repo: values.repo, ref: values.ref, path: values.path, host: values.host, place: values.place, stateDir: values['state-dir'] },
  });
}

export function parseAgentArgs<T extends Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }>>(argv: string[], extra: T) {
  return parseArgs({ args: argv, options: { ...agentOptionSpec, ...extra }, allowPositionals: false, strict: true });
}
