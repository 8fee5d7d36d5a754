// How every CLI command that talks to a hub finds it and reads its answers.
// The hub is named by its base URL (http(s)://host:port); the token comes
// from --token-file, --token, $GITFLEET_API_TOKEN, or the login context that
// `gitfleet login` stores (hub-context.ts). Every answer is bounded (size and
// time) and every failure is one of two kinds: the hub said no (exit 1) or we
// could not tell (unreachable, unauthenticated, a server error: exit 3).
import { readFileSync } from 'node:fs';
import { UsageError } from '../../repo/cli/args.ts';
import { readRenamedEnv } from '../../shared/renamed-env.ts';
import { terminalText } from '../../shared/terminal-text.ts';
import { readLoginContext } from './hub-context.ts';

export const hubOptionSpec = {
  hub: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
} as const;

export const hubOptionHelp = `      --hub URL          the hub's base URL (default $GITFLEET_API_URL, then the gitfleet login context)
      --token TOKEN      an admin or viewer token (default $GITFLEET_API_TOKEN, then the login context)
      --token-file FILE  read the token from FILE`;

/** Exit codes shared by the hub commands (docs/cli.md). */
export const hubExit = { ok: 0, failed: 1, usage: 2, unknown: 3 } as const;

/** Answers larger than this are refused: a hub (or something posing as one) cannot fill the terminal's memory. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
const TIMEOUT_MS = 15_000;

/** The hub answered with an error or could not be asked; `exit` is 1 (it said no) or 3 (could not tell). */
export class HubError extends Error {
  readonly exit: 1 | 3;
  readonly status: number | null;
  constructor(message: string, exit: 1 | 3, status: number | null = null) {
    super(message);
    this.name = 'HubError';
    this.exit = exit;
    this.status = status;
  }
}

export function isHubError(value: unknown): value is HubError {
  return value instanceof HubError;
}

/** One remote field on one terminal line: unsafe characters escaped (a newline too), cut to `max`. */
export function field(value: unknown, max = 200): string {
  const text = terminalText(String(value ?? ''));
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export interface HubTarget {
  base: string;
  token: string;
}

export function resolveHub(command: string, values: { hub?: string | undefined; token?: string | undefined; 'token-file'?: string | undefined }): HubTarget {
  // An empty variable counts as unset.
  // GITFLEET_API_*: GITFLEET_HUB_* is the hub server's own configuration (the old names still work, with a warning).
  const warn = (message: string) => void process.stderr.write(`gitfleet ${command}: warning: ${message}\n`);
  const envUrl = readRenamedEnv(process.env, 'GITFLEET_API_URL', warn);
  const envToken = readRenamedEnv(process.env, 'GITFLEET_API_TOKEN', warn);
  // The stored context only when a flag or variable does not say it (login itself never reads it).
  const needsContext = (values.hub ?? envUrl) === undefined || (values['token-file'] ?? values.token ?? envToken) === undefined;
  const context = needsContext ? readLoginContext() : null;
  const raw = values.hub ?? envUrl ?? context?.url ?? 'http://127.0.0.1:8080';
  const base = raw.replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(command, `--hub: not a URL: ${base}`);
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') {
    throw new UsageError(command, `--hub: ${base} is the agents' WebSocket address; give the hub's base URL (${url.protocol === 'wss:' ? 'https' : 'http'}://${url.host})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(command, `--hub: not an http(s) URL: ${base}`);
  if (url.pathname.replace(/\/+$/, '').endsWith('/api/v1') || url.pathname.endsWith('/agent')) {
    throw new UsageError(command, `--hub: give the hub's base URL without ${url.pathname} (${url.origin})`);
  }
  let token: string | undefined;
  if (values['token-file'] !== undefined) {
    try {
      token = readFileSync(values['token-file'], 'utf8').trim();
    } catch (error) {
      throw new UsageError(command, `--token-file: cannot read ${values['token-file']}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  } else {
    token = values.token ?? envToken ?? context?.token;
  }
  if (!token) throw new UsageError(command, 'no hub token: run gitfleet login HUB_URL, or give --token-file FILE, --token or GITFLEET_API_TOKEN');
  return { base, token };
}

async function readBounded(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel();
      throw new HubError(`the hub's answer is over ${MAX_ANSWER_BYTES} bytes`, 3);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Why fetch failed, in words: undici hides it in `cause` (an error code, or an AggregateError of them). */
function fetchFailure(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000}s`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown; errors?: Array<{ code?: unknown }> } }).cause;
  const code = cause?.code ?? cause?.errors?.find((e) => e.code !== undefined)?.code;
  if (typeof code === 'string') return code;
  if (typeof cause?.message === 'string' && cause.message !== '') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** Calls the hub's API; the parsed JSON answer, or a HubError that says who is at fault. */
export async function callHub<T>(target: HubTarget, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${target.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new HubError(`cannot reach the hub at ${target.base}: ${field(fetchFailure(error), 200)}`, 3);
  }
  const text = await readBounded(response);
  let data: unknown = null;
  try {
    data = text === '' ? null : JSON.parse(text);
  } catch {
    if (response.ok) throw new HubError(`the hub at ${target.base} answered ${path} with something that is not JSON`, 3, response.status);
  }
  if (response.ok) return data as T;
  const message = field((data as { error?: { message?: unknown } } | null)?.error?.message ?? response.statusText, 500);
  if (response.status === 401) throw new HubError(`the hub refused the token (401): ${message}; run gitfleet login ${target.base} again or check --token-file`, 3, 401);
  if (response.status === 403) throw new HubError(`the hub answered 403: ${message} (this needs an admin token)`, 1, 403);
  if (response.status === 429 || response.status >= 500) throw new HubError(`the hub answered ${response.status}: ${message}`, 3, response.status);
  throw new HubError(`the hub answered ${response.status}: ${message}`, 1, response.status);
}
