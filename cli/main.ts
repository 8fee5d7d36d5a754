// The `gitfleet` command: one entry point for the agent, the hub and the repo
// tools. This is the only module that may import both agent/ and hub/; each
// command is loaded lazily so `gitfleet validate` never loads the hub.
import { GitfleetError, isGitfleetError, messageOf } from '../shared/errors.ts';

export type CommandRunner = (argv: string[]) => Promise<number>;

interface CommandEntry {
  summary: string;
  load: () => Promise<{ run: CommandRunner }>;
}

const commands: Record<string, CommandEntry> = {
  agent: { summary: 'run the agent daemon (--once: one reconcile, exit code = result)', load: () => import('../agent/cli/agent-command.ts') },
  plan: { summary: 'show what a reconcile would change on this host; changes nothing', load: () => import('../agent/cli/plan-command.ts') },
  render: { summary: 'print the merged desired state of one host', load: () => import('../repo/cli/render-command.ts') },
  validate: { summary: 'lint a fleet repository: every error with file:line', load: () => import('../repo/cli/validate-command.ts') },
  hub: { summary: 'run the hub', load: () => import('../hub/cli/hub-command.ts') },
  status: { summary: 'print the fleet summary from a hub', load: () => import('../hub/cli/status-command.ts') },
  token: { summary: 'create, list or revoke scoped enrollment tokens on a hub', load: () => import('../hub/cli/token-command.ts') },
};

export const exitCodes = {
  ok: 0,
  /** validation errors, a failed reconcile, an unhealthy fleet */
  failed: 1,
  /** wrong command-line usage or configuration */
  usage: 2,
  /** an unexpected internal error */
  internal: 70,
} as const;

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'gitfleet — GitOps for hosts that do not run Kubernetes',
    '',
    'usage: gitfleet <command> [options]   (gitfleet <command> --help for its options)',
    '',
    'commands:',
    ...lines,
    '',
    'exit codes: 0 ok, 1 failed (validation errors, reconcile failed), 2 usage or configuration error, 70 internal error',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${process.env.GITFLEET_VERSION ?? '0.1.0'}\n`);
    return exitCodes.ok;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`gitfleet: unknown command "${name}"\n\n${help()}\n`);
    return exitCodes.usage;
  }
  const mod = await entry.load();
  return mod.run(rest);
}

/** One clear line for anything a command did not handle itself. */
export function reportFatal(error: unknown): number {
  if (isGitfleetError(error)) {
    process.stderr.write(`gitfleet: ${error.message} [${error.code}]\n`);
    return error.code === 'CONFIG_INVALID' ? exitCodes.usage : exitCodes.failed;
  }
  if (error instanceof TypeError && 'code' in error && error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    process.stderr.write(`gitfleet: ${error.message}\n`);
    return exitCodes.usage;
  }
  process.stderr.write(`gitfleet: internal error: ${messageOf(error)}\n${error instanceof Error ? (error.stack ?? '') : ''}\n`);
  return exitCodes.internal;
}

export { GitfleetError };

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = reportFatal(error);
  },
);
