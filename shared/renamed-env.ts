// Environment variables that were renamed so that no two parts of gitfleet
// share a name space (docs/cli.md, "Environment variables"): GITFLEET_HUB_* is
// the hub server's configuration, GITFLEET_AGENT_HUB* the agent's hub link,
// GITFLEET_API_* the hub login of the CLI commands. The old names are still
// read, with a warning, until a release drops them (CHANGELOG.md says which).
// Pure: the caller passes the environment and where warnings go.

/** New name → the old name it replaces. */
export const renamedEnv = {
  GITFLEET_AGENT_HUB: 'GITFLEET_HUB',
  GITFLEET_AGENT_HUB_INSECURE: 'GITFLEET_HUB_INSECURE',
  GITFLEET_API_URL: 'GITFLEET_HUB_URL',
  GITFLEET_API_TOKEN: 'GITFLEET_HUB_TOKEN',
} as const;

export type RenamedEnv = keyof typeof renamedEnv;

const warned = new Set<string>();

/**
 * The value of `name`, else of its old name with a warning (once per process
 * and name). An empty variable counts as unset.
 */
export function readRenamedEnv(env: Record<string, string | undefined>, name: RenamedEnv, warn: (message: string) => void): string | undefined {
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  const old = renamedEnv[name];
  const legacy = env[old];
  if (legacy === undefined || legacy === '') return undefined;
  if (!warned.has(old)) {
    warned.add(old);
    warn(`${old} is deprecated and will be removed: set ${name} instead (docs/cli.md, "Environment variables")`);
  }
  return legacy;
}
