// The `database` setting: a postgres:// or postgresql:// URL. Its password
// must never reach a log line or an error message, so everything that names
// the database goes through redactDatabaseUrl / databaseEndpoint.
import { redactUrl } from '../../shared/redact.ts';
/** Why the text is not a usable PostgreSQL URL, or null when it is. */
export function databaseUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'a postgres:// or postgresql:// URL, e.g. postgres://gitfleet:PASSWORD@db.example.com:5432/gitfleet';
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return `a postgres:// or postgresql:// URL, not ${url.protocol}//…`;
  }
  const host = url.hostname || url.searchParams.get('host');
  if (!host) return 'the URL names no host (postgres://USER:PASSWORD@HOST:PORT/DATABASE)';
  if (url.pathname.length <= 1) return 'the URL names no database (postgres://USER:PASSWORD@HOST:PORT/DATABASE)';
  return null;
}

/** The URL with its password and query string replaced by ***; unparsable text is replaced whole. */
export function redactDatabaseUrl(text: string): string {
  if (!URL.canParse(text)) return '(an unparsable database URL)';
  // The user is an account name here, never a token: it stays readable.
  return redactUrl(text, { keepUser: true });
}

/** host:port/database, for "cannot connect" messages. */
export function databaseEndpoint(text: string): string {
  try {
    const url = new URL(text);
    const host = url.hostname || url.searchParams.get('host') || 'localhost';
    return `${host}:${url.port || '5432'}${url.pathname}`;
  } catch {
    return '(an unparsable database URL)';
  }
}

/** Removes every occurrence of the URL's password from a message (a driver's error could echo it). */
export function withoutPassword(message: string, text: string): string {
  let secrets: string[] = [];
  try {
    const url = new URL(text);
    secrets = [url.password, decodeURIComponent(url.password), url.searchParams.get('password') ?? ''].filter((s) => s.length > 0);
  } catch {
    return message.split(text).join('(the database URL)');
  }
  for (const s of secrets) message = message.split(s).join('***');
  return message;
}
