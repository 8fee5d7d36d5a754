// `gitfleet host reset-credential HOST`: forgets a host's credential on the
// hub, so the next connection with an enrollment token enrolls it again (a
// reinstalled host). Admin token.
import { parseCommandArgs, UsageError } from '../../repo/cli/args.ts';
import { callHub, field, hubExit, hubOptionHelp, hubOptionSpec, resolveHub } from './hub-api.ts';

export const usage = `usage: gitfleet host reset-credential HOST [hub options]

reset-credential  forget HOST's credential on the hub: its next connection with an enrollment
                  token enrolls it again (a reinstalled host). An admin token is needed.
${hubOptionHelp}

exit codes: 0 done; 1 the hub knows no such host or refused; 2 usage error; 3 could not tell
(hub unreachable, token refused)`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('host', argv, { ...hubOptionSpec, help: { type: 'boolean', short: 'h' } }, 2);
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return hubExit.ok;
  }
  const [action, host] = positionals;
  if (action !== 'reset-credential') throw new UsageError('host', action === undefined ? 'an action is needed: reset-credential HOST' : `unknown action "${action}" (the one action is reset-credential)`);
  if (host === undefined || host === '') throw new UsageError('host', 'reset-credential needs the HOST');
  const target = resolveHub('host', values);
  const answer = await callHub<{ host: string }>(target, 'DELETE', `/api/v1/hosts/${encodeURIComponent(host)}/credential`);
  process.stdout.write(`${field(answer.host, 253)}: credential forgotten; its next connection with an enrollment token enrolls it again\n`);
  return hubExit.ok;
}
