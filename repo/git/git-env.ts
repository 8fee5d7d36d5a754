// The environment every git process of the source runs with: isolated from
// the user's and the system's git configuration, never prompting, limited to
// safe transports, with credentials passed out of band (never in a URL or on a
// command line, where `ps`, logs and error messages would show them).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { GitfleetError } from '../../shared/errors.ts';
import type { GitCredentials } from './types.ts';
import type { Remote } from './remote-url.ts';

export interface GitEnv {
  env: Record<string, string>;
  /** Values that must never appear in anything the source emits. */
  secrets: string[];
}

/** Config entries passed as GIT_CONFIG_KEY_n/VALUE_n: not visible in argv. */
export type ConfigEntries = Array<[key: string, value: string]>;

export function baseEnv(homeDir: string, config: ConfigEntries): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: homeDir,
    // Stable, English messages: failures are classified by their text.
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    // Empty = no askpass program at all (git treats an empty value as "none").
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    SSH_ASKPASS_REQUIRE: 'never',
    // ext:: and fd:: run commands; only these transports may ever be used.
    GIT_ALLOW_PROTOCOL: 'file:git:http:https:ssh',
  };
  const entries: ConfigEntries = [
    ['protocol.version', '2'],
    ['gc.auto', '0'],
    ['maintenance.auto', 'false'],
    ['core.askPass', ''],
    // A stalled transfer (server up but silent) fails instead of hanging.
    ['http.lowSpeedLimit', '1000'],
    ['http.lowSpeedTime', '30'],
    ['fetch.fsckObjects', 'true'],
    ['advice.detachedHead', 'false'],
    ...config,
  ];
  env.GIT_CONFIG_COUNT = String(entries.length);
  entries.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/** The environment for talking to `remote` with `credentials` (secret files are read now, so rotation needs no restart). */
export async function remoteEnv(remote: Remote, credentials: GitCredentials | undefined, homeDir: string, extra: ConfigEntries = []): Promise<GitEnv> {
  const c = credentials ?? {};
  const secrets: string[] = [];
  const config: ConfigEntries = [...extra];
  const env: Record<string, string> = {};
  if (remote.kind === 'https' || remote.kind === 'http') {
    const auth = await basicAuth(c);
    if (auth !== null) {
      secrets.push(...auth.secrets);
      // Scoped to the remote's origin: a redirect to another host never gets it.
      config.push([`http.${new URL(remote.url).origin}/.extraHeader`, `Authorization: Basic ${auth.encoded}`]);
    }
  } else if (c.tokenFile !== undefined || c.passwordFile !== undefined) {
    throw new GitfleetError('CONFIG_INVALID', `git.tokenFile / git.passwordFile apply to https remotes only, not to ${remote.display}`);
  }
  if (remote.kind === 'ssh') {
    if (c.sshKeyFile === undefined) throw new GitfleetError('CONFIG_INVALID', `git.sshKeyFile is required for the ssh remote ${remote.display}`);
    if (c.knownHostsFile === undefined) {
      throw new GitfleetError('CONFIG_INVALID', `git.knownHostsFile is required for the ssh remote ${remote.display} (host keys are pinned, never learned)`);
    }
    env.GIT_SSH_COMMAND = sshCommand(resolve(c.sshKeyFile), resolve(c.knownHostsFile));
    env.GIT_SSH_VARIANT = 'ssh';
  } else if (c.sshKeyFile !== undefined) {
    throw new GitfleetError('CONFIG_INVALID', `git.sshKeyFile applies to ssh remotes only, not to ${remote.display}`);
  }
  return { env: { ...baseEnv(homeDir, config), ...env }, secrets };
}

async function basicAuth(c: GitCredentials): Promise<{ encoded: string; secrets: string[] } | null> {
  if (c.tokenFile !== undefined && c.passwordFile !== undefined) {
    throw new GitfleetError('CONFIG_INVALID', 'git.tokenFile and git.passwordFile are exclusive; give one');
  }
  const file = c.tokenFile ?? c.passwordFile;
  if (file === undefined) {
    if (c.username !== undefined) throw new GitfleetError('CONFIG_INVALID', 'git.username needs git.passwordFile or git.tokenFile');
    return null;
  }
  const key = c.tokenFile !== undefined ? 'git.tokenFile' : 'git.passwordFile';
  const secret = await readSecret(file, key);
  const user = c.username ?? (c.tokenFile !== undefined ? 'x-access-token' : undefined);
  if (user === undefined) throw new GitfleetError('CONFIG_INVALID', 'git.passwordFile needs git.username');
  if (user.includes(':') || /[\0\r\n]/.test(user)) throw new GitfleetError('CONFIG_INVALID', 'git.username must not contain ":" or a line break');
  const encoded = Buffer.from(`${user}:${secret}`).toString('base64');
  return { encoded, secrets: [secret, encoded] };
}

async function readSecret(file: string, key: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new GitfleetError('CONFIG_INVALID', `${key}: cannot read ${file} (${code})`, { cause });
  }
  // One trailing newline is an editor's, not part of the secret.
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new GitfleetError('CONFIG_INVALID', `${key}: ${file} is empty`);
  if (/[\0\r\n]/.test(secret)) throw new GitfleetError('CONFIG_INVALID', `${key}: ${file} must hold one line`);
  return secret;
}

// git runs GIT_SSH_COMMAND through sh, so every path is single-quoted.
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function sshCommand(keyFile: string, knownHostsFile: string): string {
  return [
    'ssh', '-F', '/dev/null',
    '-i', shellQuote(keyFile),
    '-o', 'IdentitiesOnly=yes',
    '-o', shellQuote(`UserKnownHostsFile=${knownHostsFile}`),
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'UpdateHostKeys=no',
    '-o', 'BatchMode=yes',
    '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no',
    '-o', 'ConnectTimeout=15',
    '-o', 'ServerAliveInterval=15',
    '-o', 'ServerAliveCountMax=2',
  ].join(' ');
}
