// One redaction for every URL that may reach a log line, a status, an error or
// the web view: Git remotes, the hub's database URL, the agent's hub URL.

const userinfo = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s?#]*)@/gi;
const query = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#]*)\?[^\s#]*/gi;
const sshScheme = /^(ssh|git\+ssh|ssh\+git):/i;

/**
 * Every URL in `text` with its password, token and query string replaced by "***".
 * A user name alone may itself be a token (https://TOKEN@host), so it is hidden
 * too, except an ssh user name (git@host), which is not a secret; `keepUser`
 * keeps user names before a password (postgres://gitfleet:***@db) where the
 * user is an account name, never a token.
 */
export function redactUrl(text: string, options: { keepUser?: boolean } = {}): string {
  return text
    .replace(userinfo, (_m, scheme: string, info: string) => {
      const keep = sshScheme.test(scheme);
      const colon = info.indexOf(':');
      if (colon >= 0) return `${scheme}${keep || options.keepUser ? info.slice(0, colon) : '***'}:***@`;
      return `${scheme}${keep ? info : '***'}@`;
    })
    .replace(query, '$1?***');
}
