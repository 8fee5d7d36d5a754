// `gitfleet token create|list|revoke`: scoped enrollment tokens through the
// hub's API (admin token), for scripts and terminals. The secret of a new
// token is printed once, on stdout, alone on its line (or in --json).
import { parseCommandArgs, UsageError } from '../../repo/cli/args.ts';
import { terminalJson, terminalText } from '../../shared/terminal-text.ts';
import { callHub, hubOptionHelp, hubOptionSpec, resolveHub } from './hub-api.ts';
import type { EnrollmentTokenView } from '../api/enrollment-routes.ts';

/** Hub-stored text (names, patterns, tags) on one terminal line: controls and bidi characters escaped. */
const safe = (value: unknown): string => terminalText(String(value));

const usage = `usage: gitfleet token create --name NAME [--expires-in 24h] [--max-uses N] [--host-pattern GLOB] [--tag TAG] [--json]
       gitfleet token list [--json]
       gitfleet token revoke ID

hub options (an admin token is needed):
${hubOptionHelp}

create prints the new token's secret on stdout (shown once: the hub keeps only its hash).
exit codes: 0 ok, 1 the hub refused, 2 usage error, 3 could not tell (hub unreachable, token refused)`;

/** What the API answers for a token; `token` (the secret) only in the answer to its creation. */
type TokenView = EnrollmentTokenView & { token?: string };

const fail = (message: string): never => {
  throw new UsageError('token', message);
};

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'token',
    argv,
    {
      ...hubOptionSpec,
      name: { type: 'string' },
      'expires-in': { type: 'string' },
      'max-uses': { type: 'string' },
      'host-pattern': { type: 'string' },
      tag: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    3,
  );
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const [action, ...rest] = positionals;
  let method: 'GET' | 'POST' | 'DELETE';
  let path = '/api/v1/enrollment-tokens';
  let body: Record<string, unknown> | undefined;
  switch (action) {
    case 'create': {
      if (rest.length > 0) fail(`create takes no arguments (got ${rest.join(' ')})`);
      if (!values.name) fail('create needs --name NAME');
      const maxUses = values['max-uses'] === undefined ? undefined : Number(values['max-uses']);
      if (maxUses !== undefined && !Number.isInteger(maxUses)) fail('--max-uses: a whole number');
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
      if (rest.length > 0) fail('list takes no arguments');
      method = 'GET';
      break;
    case 'revoke':
      if (rest.length !== 1) fail('revoke takes one token id (see gitfleet token list)');
      method = 'DELETE';
      path += `/${encodeURIComponent(rest[0]!)}`;
      break;
    default:
      return fail(`${action === undefined ? 'an action is needed' : `unknown action "${action}"`}: create, list or revoke`);
  }

  const target = resolveHub('token', values);
  const data = await callHub<(TokenView & { tokens?: TokenView[] }) | null>(target, method, path, body);
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
