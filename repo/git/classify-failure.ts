// Turns a failed git command into one of the source's error codes. Git reports
// failures only as text (LC_ALL=C keeps it English); the order of the checks
// matters: an ssh auth failure also says "Could not read from remote repository".
import type { ErrorCode } from '../../shared/errors.ts';
import { redactUrl } from './remote-url.ts';

const rules: Array<[ErrorCode, RegExp]> = [
  ['GIT_HOST_KEY', /host key verification failed|remote host identification has changed|no \S+ host key is known/i],
  ['GIT_AUTH', /authentication failed|could not read (username|password)|terminal prompts disabled|permission denied \(|permission denied, please try again|returned error: 40[13]\b|\bhttp (basic: )?(access denied|40[13])|unprotected private key file|load key .*: (invalid format|no such file|permission denied)|no such identity|too many authentication failures|invalid credentials/i],
  ['GIT_NOT_FOUND', /repository .*not found|does not appear to be a git repository|not exported|couldn't find remote ref|could not find remote ref|not our ref|returned error: 404\b|no such repository|no such remote ref/i],
  ['GIT_UNREACHABLE', /could not resolve host|name or service not known|temporary failure in name resolution|connection refused|failed to connect|unable to connect|timed out|timeout reached|network is unreachable|no route to host|connection reset|connection closed|hung up unexpectedly|early eof|returned error: 5\d\d\b|gnutls|ssl_|tls|rpc failed|transfer closed|could not read from remote repository|unable to access/i],
  ['GIT_CORRUPT', /not a git repository|bad object|is corrupt|object file .* is empty|loose object|packfile|inflate|missing (blob|tree|commit)|bad config|unable to read|invalid object|did not send all necessary objects|broken link|index file corrupt|unable to parse|not a valid object|error: object .* is a .*, not a/i],
];

export function classifyGitFailure(stderr: string): ErrorCode {
  for (const [code, pattern] of rules) if (pattern.test(stderr)) return code;
  return 'GIT_FAILED';
}

/** The lines of git's output worth showing, with secrets and URL credentials removed. */
export function scrubGitOutput(text: string, secrets: readonly string[], maxLines = 4): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('***');
  out = redactUrl(out).replace(/(authorization:\s*)(\S+\s+)?\S+/gi, '$1***');
  const lines = out
    // Progress (fetch --progress) redraws its line with \r: each redraw is a line to drop, not the error.
    .split(/\r\n|\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(hint:|(remote: )?(counting|compressing|enumerating|total|receiving objects|resolving deltas|unpacking objects))/i.test(l));
  const kept = lines.slice(0, maxLines).join(' | ');
  const limit = maxLines * 150;
  return kept.length > limit ? `${kept.slice(0, limit)}…` : kept;
}
