// `gitfleet render --host ID [--place P] [--repo DIR | DIR]`: the merged desired state of
// one host, with where each variable and resource came from.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseCommandArgs, UsageError } from './args.ts';
import { isGitfleetError } from '../../shared/errors.ts';
import { processSecrets } from '../../shared/secrets/mask.ts';
import { readIdentityFile } from '../secrets/age-key.ts';
import { explainDesiredState, formatIssue, TreeInvalidError } from '../tree/index.ts';
import { renderText } from '../tree/render-text.ts';

const usage = `usage: gitfleet render --host ID [--place P] [--json] [--identity KEYFILE [--reveal]] [--repo DIR | DIR]

Prints the merged desired state of host ID from the fleet tree in DIR (default:
the current directory): its tags, variables and resources, each with the file
and line it came from.

      --host ID   the host id (the name of its directory in the tree)
      --place P   the leaf directory for a host without a directory of its own
      --repo DIR  the fleet tree (a positional DIR is the same)
      --json      print the desired state as JSON
      --identity KEYFILE  decrypt the host's encrypted layers (*.sops.yaml) with this age
                  identity, as the host would (refused when it cannot: not a recipient,
                  tampered); their values still print as «secret» (docs/secrets.md)
      --reveal    with --identity: print decrypted values in clear
                  (without --identity, encrypted values are never read: «secret»)

exit codes: 0 ok, 1 the tree is invalid for this host or the host is unknown, 2 usage error
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'render',
    argv,
    {
      host: { type: 'string' },
      place: { type: 'string' },
      repo: { type: 'string' },
      json: { type: 'boolean', default: false },
      identity: { type: 'string' },
      reveal: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    1,
  );
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.host === undefined || values.host === '') throw new UsageError('render', '--host is required (the host id to render); see gitfleet render --help');
  if (values.repo !== undefined && positionals.length > 0) throw new UsageError('render', '--repo and a directory argument are the same thing; give one');
  const dir = resolve(values.repo ?? positionals[0] ?? '.');
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
    process.stderr.write(`gitfleet render: ${dir} is not a directory\n`);
    return 2;
  }
  if (values.reveal && values.identity === undefined) throw new UsageError('render', '--reveal needs --identity KEYFILE (a key that can decrypt the host\'s encrypted layers)');
  try {
    const keys = values.identity === undefined ? undefined : await readIdentityFile(resolve(values.identity));
    const explained = await explainDesiredState(dir, { host: values.host, keys, ...(values.place !== undefined ? { place: values.place } : {}) });
    // Decrypted values are masked unless asked for in clear (the loader registered them). Masked
    // in the data, before printing: a multi-line secret printed as an indented block or in JSON
    // with escapes would no longer match as text.
    const shown = values.reveal ? explained : processSecrets.maskDeep(explained);
    process.stdout.write(values.json ? JSON.stringify(shown.state, null, 2) + '\n' : renderText(shown));
    return 0;
  } catch (error) {
    if (error instanceof TreeInvalidError) {
      for (const i of error.issues) process.stderr.write(formatIssue(i) + '\n');
      process.stderr.write(`gitfleet render: the tree is invalid for host ${values.host}: ${error.issues.length} error(s)\n`);
      return 1;
    }
    if (isGitfleetError(error, 'UNKNOWN_HOST') || isGitfleetError(error, 'UNKNOWN_PLACE') || isGitfleetError(error, 'SECRET_NO_KEY')) {
      process.stderr.write(`gitfleet render: ${error.message} [${error.code}]\n`);
      return 1;
    }
    throw error;
  }
}
