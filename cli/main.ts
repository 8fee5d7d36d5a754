// The `gitfleet` command: one entry point for the agent, the hub and the repo
// tools. This is the only module that may import both agent/ and hub/; each
// command is loaded lazily so `gitfleet validate` never loads the hub.
import { GitfleetError, isGitfleetError, messageOf } from '../shared/errors.ts';
import { isUsageError, UsageError } from '../repo/cli/args.ts';
import { suggest } from '../shared/suggest.ts';

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
  diff: { summary: 'the hosts and resources a change affects between two revisions (impact preview)', load: () => import('../repo/cli/diff-command.ts') },
  policy: { summary: 'show a host\'s effective host policy (docs/policy.md)', load: () => import('../repo/cli/policy-command.ts') },
  hub: { summary: 'run the hub', load: () => import('../hub/cli/hub-command.ts') },
  status: { summary: 'the fleet summary from a hub, or one host in detail (gitfleet status HOST)', load: () => import('../hub/cli/status-command.ts') },
  hosts: { summary: 'list the hosts a hub knows, worst first (--tag, --state)', load: () => import('../hub/cli/hosts-command.ts') },
  reconcile: { summary: 'ask a hub to reconcile a host, a tag or all now (--wait follows them)', load: () => import('../hub/cli/reconcile-command.ts') },
  host: { summary: 'host reset-credential HOST: let a reinstalled host enroll again', load: () => import('../hub/cli/host-command.ts') },
  login: { summary: 'store a hub URL and token for the hub commands', load: () => import('../hub/cli/login-command.ts') },
  token: { summary: 'create, list or revoke scoped enrollment tokens on a hub', load: () => import('../hub/cli/token-command.ts') },
  rollout: { summary: 'staged rollouts on a hub: list, show, pause, resume, promote, abort (docs/rollouts.md)', load: () => import('../hub/cli/rollout-command.ts') },
  secret: { summary: 'encrypt, decrypt, edit and re-key SOPS/age secrets for the fleet repo (docs/secrets.md)', load: () => import('./secret-command.ts') },
  check: { summary: 'pre-flight this host: config, state dir, Docker, systemd, repo, hub', load: () => import('./check-command.ts') },
  init: { summary: 'start a fleet repository with a first host', load: () => import('./init-command.ts') },
  adopt: { summary: 'describe this running host (containers, units, files) in the fleet repo; --factor layers a fleet', load: () => import('./adopt/adopt-command.ts') },
  version: { summary: 'print the release, protocol and runtime versions', load: () => import('./version-command.ts') },
  completion: {
    summary: 'print a bash, zsh or fish completion script',
    load: () => import('./completion-command.ts').then((m) => ({ run: (argv: string[]) => m.run(argv, summaries()) })),
  },
};

export const exitCodes = {
  ok: 0,
  /** validation errors, a failed reconcile, an unhealthy fleet */
  failed: 1,
  /** wrong command-line usage or configuration */
  usage: 2,
  /** the hub could not tell: unreachable, token refused, hub error (hub commands) */
  unknown: 3,
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
    'exit codes: 0 ok, 1 failed (validation errors, reconcile failed, fleet unhealthy), 2 usage or configuration error,',
    '            3 could not tell (hub unreachable or token refused), 70 internal error; plan: 2 changes pending',
    '',
    'gitfleet help COMMAND prints the options of COMMAND; docs/cli.md is the reference.',
  ].join('\n');
}

function summaries(): Record<string, string> {
  return Object.fromEntries(Object.entries(commands).map(([name, c]) => [name, c.summary]));
}

function unknownCommand(name: string): UsageError {
  const meant = suggest(name, Object.keys(commands));
  return new UsageError('', `unknown command "${name}"${meant ? ` (did you mean "${meant}"?)` : ''}; gitfleet help lists the commands`);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(help() + '\n');
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (name === 'help') {
    // `gitfleet help validate` is `gitfleet validate --help`.
    if (rest[0] === undefined) {
      process.stdout.write(help() + '\n');
      return exitCodes.ok;
    }
    const entry = commands[rest[0]];
    if (!entry) throw unknownCommand(rest[0]);
    return (await entry.load()).run(['--help']);
  }
  if (name === '--version' || name === '-V') return (await import('./version-command.ts')).run([]);
  const entry = commands[name];
  if (!entry) throw unknownCommand(name);
  const mod = await entry.load();
  try {
    return await mod.run(rest);
  } catch (error) {
    // reportFatal names the command in its one line.
    if (error instanceof Error && !('command' in error)) Object.assign(error, { command: name });
    throw error;
  }
}

/** One clear line for anything a command did not handle itself. */
export function reportFatal(error: unknown): number {
  if (isUsageError(error)) {
    process.stderr.write(`gitfleet${error.command ? ` ${error.command}` : ''}: ${error.message}\n`);
    return exitCodes.usage;
  }
  // A hub command's "could not tell" (3) or "the hub said no" (1), named by the hub client.
  if (error instanceof Error && error.name === 'HubError' && 'exit' in error && typeof error.exit === 'number') {
    process.stderr.write(`gitfleet${'command' in error && typeof error.command === 'string' ? ` ${error.command}` : ''}: ${error.message}\n`);
    return error.exit;
  }
  if (isGitfleetError(error)) {
    process.stderr.write(`gitfleet: ${error.message} [${error.code}]\n`);
    return error.code === 'CONFIG_INVALID' ? exitCodes.usage : exitCodes.failed;
  }
  // An operating-system error (a file or socket that cannot be used) is the environment, not a bug: one line.
  if (error instanceof Error && 'code' in error && typeof error.code === 'string' && /^E[A-Z]+$/.test(error.code)) {
    process.stderr.write(`gitfleet: ${error.message}\n`);
    return exitCodes.failed;
  }
  const debug = process.env.GITFLEET_DEBUG === '1';
  process.stderr.write(
    `gitfleet: internal error: ${messageOf(error)}\n${debug && error instanceof Error ? `${error.stack ?? ''}\n` : 'this is a bug; GITFLEET_DEBUG=1 prints the stack trace for a report\n'}`,
  );
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
