// `gitfleet login HUB_URL`: checks a token against the hub and stores the URL
// and the token (0600) as the login context the other hub commands use.
// The token is read from --token-file or stdin, never from the command line
// (it would sit in the shell history and the process list).
import { readFileSync } from 'node:fs';
import { parseCommandArgs, UsageError } from '../../repo/cli/args.ts';
import { callHub, field, hubExit, resolveHub } from './hub-api.ts';
import { contextDir, writeLoginContext } from './hub-context.ts';

export const usage = `usage: gitfleet login HUB_URL [--token-file FILE]

Checks the token against the hub at HUB_URL (its base URL, e.g. https://hub.example.com)
and stores both in ${'$'}GITFLEET_CONFIG_DIR (default ~/.config/gitfleet): hub.json with the URL,
hub.token with the token (mode 0600). hosts, status, reconcile, host and token then need
no --hub or token. Without --token-file, the token is read from stdin.

      --token-file FILE  read the token from FILE

exit codes: 0 stored; 1 the hub refused; 2 usage error; 3 could not tell (hub unreachable, token refused)`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('login', argv, { 'token-file': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, 1);
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return hubExit.ok;
  }
  const url = positionals[0];
  if (url === undefined) throw new UsageError('login', 'the hub\'s base URL is needed: gitfleet login https://hub.example.com');
  let token: string;
  if (values['token-file'] !== undefined) {
    try {
      token = readFileSync(values['token-file'], 'utf8').trim();
    } catch (error) {
      throw new UsageError('login', `--token-file: cannot read ${values['token-file']}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  } else {
    if (process.stdin.isTTY) process.stderr.write('token (then Enter and Ctrl-D): ');
    token = readFileSync(0, 'utf8').trim();
  }
  if (token === '' || /\s/.test(token) || token.length > 4096) throw new UsageError('login', 'the token is empty or not one word');
  const target = resolveHub('login', { hub: url, token });
  const who = await callHub<{ role?: unknown }>(target, 'GET', '/api/v1/whoami');
  const stored = writeLoginContext({ url: target.base, token });
  process.stdout.write(`logged in to ${target.base} as ${field(who.role ?? 'unknown', 20)}; context in ${contextDir()} (token in ${stored.tokenFile}, mode 0600)\n`);
  return hubExit.ok;
}
