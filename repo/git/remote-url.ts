// Parses the `repo` setting into a transport kind and a URL git can use, and
// redacts credentials from anything that may reach a log, a status or an error.
import { isAbsolute, resolve } from 'node:path';
import { GitfleetError } from '../../shared/errors.ts';
import { redactUrl } from '../../shared/redact.ts';

export type RemoteKind = 'https' | 'http' | 'ssh' | 'git' | 'file';

export interface Remote {
  kind: RemoteKind;
  /** What git is given (credentials are never part of it). */
  url: string;
  /** Safe to show anywhere. */
  display: string;
}

// user@host:path — git's scp-like syntax (no scheme, a colon before the first slash).
const scpLike = /^(?:[^@/\s]+@)?(?:\[[^\]]+\]|[^:/\s]+):(?!\/\/)/;

export function parseRemote(repo: string): Remote {
  const value = repo.trim();
  if (value === '') throw new GitfleetError('CONFIG_INVALID', 'repo: is empty; give an https://, ssh://, git:// URL or a local path');
  if (value.startsWith('-')) throw new GitfleetError('CONFIG_INVALID', 'repo: must not start with "-"');
  if (/[\0\n\r]/.test(value)) throw new GitfleetError('CONFIG_INVALID', 'repo: contains a control character');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch (cause) {
      throw new GitfleetError('CONFIG_INVALID', `repo: ${redactUrl(value)} is not a valid URL`, { cause });
    }
    if (scheme === 'https' || scheme === 'http') {
      if (parsed.username !== '' || parsed.password !== '') {
        throw new GitfleetError('CONFIG_INVALID', `repo: ${redactUrl(value)} carries credentials in the URL; put them in git.tokenFile or git.username + git.passwordFile`);
      }
      return { kind: scheme, url: value, display: value };
    }
    if (scheme === 'ssh' || scheme === 'git+ssh' || scheme === 'ssh+git') {
      if (parsed.password !== '') throw new GitfleetError('CONFIG_INVALID', `repo: ${redactUrl(value)} carries a password; use git.sshKeyFile`);
      return { kind: 'ssh', url: value, display: value };
    }
    if (scheme === 'git') return { kind: 'git', url: value, display: value };
    if (scheme === 'file') return { kind: 'file', url: value, display: value };
    // ext::, fd:: and friends run arbitrary commands: never allowed.
    throw new GitfleetError('CONFIG_INVALID', `repo: the scheme "${scheme}" is not supported (https, http, ssh, git, file or a local path)`);
  }
  if (/^[a-z][a-z0-9+.-]*::/i.test(value)) {
    throw new GitfleetError('CONFIG_INVALID', 'repo: remote helpers ("transport::address") are not supported');
  }
  if (!isAbsolute(value) && !value.startsWith('.') && scpLike.test(value)) {
    return { kind: 'ssh', url: value, display: value };
  }
  const path = resolve(value);
  return { kind: 'file', url: path, display: path };
}

// The one redaction (shared/redact.ts); re-exported where Git code has always found it.
export { redactUrl };
