// `gitfleet token create|list|revoke`: scoped enrollment tokens through the
// hub's API (admin token), for scripts and terminals. The secret of a new
// token is printed once, on stdout, alone on its line (or in --json).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { terminalJson, terminalText } from '../../shared/terminal-text.ts';

/** Hub-stored text (names, patterns, tags) on one terminal line: controls and bidi characters escaped. */
const safe = (value: unknown): string => terminalText(String(value));

const usage = `usage: gitfleet token create --name NAME [--expires-in 24h] [--max-uses N] [--host-pattern GLOB] [--tag TAG] [--json]
       gitfleet token list [--json]
       gitfleet token revoke ID

common options:
  --hub URL          the hub's API address (default $GITFLEET_HUB_URL or http://127.0.0.1:8080)
  --token TOKEN      the admin token (default $GITFLEET_HUB_TOKEN)
  --token-file FILE  read the admin token from FILE

create prints the new token's secret on stdout (shown once: the hub keeps only its hash).
exit codes: 0 ok, 1 the hub refused or cannot be reached, 2 usage error`;

interface TokenView {
  id: string;
  name: string;
  expiresAt: string | null;
  maxUses: number | null;
  uses: number;
  hostPattern: string | null;
  tag: string | null;
  state: string;
  token?: string;
}

function fail(message: string, code: number): number {
  process.stderr.write(`gitfleet token: ${message}\n`);
  return code;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        hub: { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        name: { type: 'string' },
        'expires-in': { type: 'string' },
        'max-uses': { type: 'string' },
        'host-pattern': { type: 'string' },
        tag: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n${usage}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const [action, ...rest] = positionals;
  const base = (values.hub ?? process.env.GITFLEET_HUB_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(base)) return fail(`--hub: not an http(s) URL: ${base}`, 2);
  let admin = values.token ?? process.env.GITFLEET_HUB_TOKEN;
  if (values['token-file']) {
    try {
      admin = readFileSync(values['token-file'], 'utf8').trim();
    } catch (error) {
      return fail(`--token-file: ${(error as Error).message}`, 2);
    }
  }
  if (!admin) return fail('an admin token is needed: --token, --token-file or GITFLEET_HUB_TOKEN', 2);

  let method: 'GET' | 'POST' | 'DELETE';
  let path = '/api/v1/enrollment-tokens';
  let body: Record<string, unknown> | undefined;
  switch (action) {
    case 'create': {
      if (rest.length > 0) return fail(`create takes no arguments (got ${rest.join(' ')})\n${usage}`, 2);
      if (!values.name) return fail(`create needs --name\n${usage}`, 2);
      const maxUses = values['max-uses'] === undefined ? undefined : Number(values['max-uses']);
      if (maxUses !== undefined && !Number.isInteger(maxUses)) return fail('--max-uses: a whole number', 2);
      method = 'POST';
      body = {
        name: values.name,
        ...(values['expires-in'] ? { expiresIn: values['expires-in'] } : {}),
        ...(maxUses !== undefined ? { maxUses } : {}),
        ...(values['host-pattern'] ? { hostPattern: values['host-pattern'] } : {}),
        ...(values.tag ? { tag: values.tag } : {}),
      };
      break;
    }
    case 'list':
      if (rest.length > 0) return fail(`list takes no arguments\n${usage}`, 2);
      method = 'GET';
      break;
    case 'revoke':
      if (rest.length !== 1) return fail(`revoke takes one token id (see gitfleet token list)\n${usage}`, 2);
      method = 'DELETE';
      path += `/${encodeURIComponent(rest[0]!)}`;
      break;
    default:
      return fail(`${action === undefined ? 'an action is needed' : `unknown action "${action}"`}: create, list or revoke\n${usage}`, 2);
  }

  let response: Response;
  try {
    response = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    return fail(`cannot reach the hub at ${base}: ${(error as Error).message}`, 1);
  }
  const data = (await response.json().catch(() => null)) as (TokenView & { tokens?: TokenView[]; error?: { message?: string } }) | null;
  if (!response.ok) return fail(`the hub answered ${response.status}: ${safe(data?.error?.message ?? response.statusText)}`, 1);
  if (values.json) {
    process.stdout.write(terminalJson(data, 2) + '\n');
    return 0;
  }
  if (action === 'create') {
    const t = data!;
    process.stderr.write(`created ${safe(t.id)} "${safe(t.name)}": expires ${safe(t.expiresAt ?? 'never')}, ${safe(t.maxUses ?? 'unlimited')} use(s)${t.hostPattern ? `, hosts ${safe(t.hostPattern)}` : ''}${t.tag ? `, tag ${safe(t.tag)}` : ''}\n`);
    process.stderr.write('the secret (shown once; put it in the agents\' tokenFile):\n');
    process.stdout.write(`${safe(t.token)}\n`);
  } else if (action === 'list') {
    const tokens = data?.tokens ?? [];
    if (tokens.length === 0) process.stdout.write('no enrollment tokens\n');
    for (const t of tokens) {
      process.stdout.write(
        `${safe(t.id)}  ${safe(t.state).padEnd(7)}  uses ${safe(t.uses)}/${safe(t.maxUses ?? '∞')}  expires ${safe(t.expiresAt ?? 'never')}  hosts ${safe(t.hostPattern ?? '*')}  tag ${safe(t.tag ?? '-')}  ${safe(t.name)}\n`,
      );
    }
  } else {
    process.stdout.write(`revoked ${rest[0]}\n`);
  }
  return 0;
}
