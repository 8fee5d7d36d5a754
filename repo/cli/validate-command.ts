// `gitfleet validate [DIR]`: lints a fleet tree for its own CI. Prints every
// error as `file:line:column  CODE  message`, then a summary; exit 1 when any.
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseCommandArgs, UsageError } from './args.ts';
import { parseRecipientsList, recipientIssues } from '../secrets/coverage.ts';
import { formatIssue, validateTree } from '../tree/index.ts';
import { repoPolicyIssues, validateWithPolicy } from './policy-command.ts';
import { readRolloutPolicies } from '../rollout/rollout-files.ts';

const usage = `usage: gitfleet validate [--repo DIR | DIR] [--json] [--recipients FILE]
       gitfleet validate --policy FILE [--host ID | --tag T] [--repo DIR | DIR] [--json]

Checks the fleet tree in DIR (default: the current directory): layout, every
resource file, and the merged state of every host and place-only group.

      --repo DIR  the fleet tree (a positional DIR is the same)
      --json      print the errors as a JSON array of {file, line, column, code, message}
                  (with --policy also rule, resource and hosts)
      --policy FILE  also check every host against the host policy FILE narrowed by
                  the tree's policy.yaml files (docs/policy.md): a fleet repo's CI
                  refuses a merge that a host would refuse
      --recipients FILE  "HOST AGE_PUBLIC_KEY" lines (gitfleet secret recipients --tag … > FILE):
                  also report every listed host that could not decrypt an encrypted layer it needs
                  (docs/secrets.md); encrypted files' structure is always checked, without keys
      --host ID   with --policy: check only this host
      --tag T     with --policy: check only the hosts with tag T

exit codes: 0 no errors, 1 errors found or no host in the tree, 2 usage error (e.g. DIR is not a directory)
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'validate',
    argv,
    { repo: { type: 'string' }, json: { type: 'boolean', default: false }, policy: { type: 'string' }, recipients: { type: 'string' }, host: { type: 'string' }, tag: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    1,
  );
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.repo !== undefined && positionals.length > 0) throw new UsageError('validate', `--repo and a directory argument are the same thing; give one`);
  const dir = resolve(values.repo ?? positionals[0] ?? '.');
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
    process.stderr.write(`gitfleet validate: ${dir} is not a directory\n`);
    return 2;
  }
  if (values.policy !== undefined) return validateWithPolicy({ policy: values.policy, host: values.host, tag: values.tag, json: values.json, dir });
  if (values.host !== undefined || values.tag !== undefined) throw new UsageError('validate', '--host and --tag select the hosts to check against --policy FILE; give --policy');
  const summary = await validateTree(dir);
  // The repo's policy.yaml files are checked for their format even without a host policy.
  summary.issues.push(...(await repoPolicyIssues(dir)));
  // So are its rollout.yaml files (docs/rollouts.md).
  summary.issues.push(...(await readRolloutPolicies(dir, summary)).issues);
  if (values.recipients !== undefined) {
    let list: string;
    try {
      list = await readFile(values.recipients, 'utf8');
    } catch (error) {
      throw new UsageError('validate', `--recipients: cannot read ${values.recipients}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    summary.issues.push(...(await recipientIssues(dir, summary.hosts, parseRecipientsList(list))));
  }
  // A tree with nothing to deploy is a wrong directory, not a valid fleet.
  if (summary.issues.length === 0 && summary.hosts.length === 0) {
    process.stderr.write(`gitfleet validate: no host found in ${dir}: a host is a directory with a host.yaml (docs/fleet-repo.md); is this the fleet repository?\n`);
    return 1;
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(summary.issues.map(({ file, line, column, code, message }) => ({ file, line, column, code, message })), null, 2) + '\n');
    return summary.issues.length > 0 ? 1 : 0;
  }
  for (const i of summary.issues) process.stdout.write(formatIssue(i) + '\n');
  const checked = `${summary.hosts.length} host(s), ${summary.tags.length} tag(s), ${summary.places.length} place-only group(s)`;
  if (summary.issues.length === 0) {
    process.stdout.write(`ok: no errors (${checked} checked)\n`);
    return 0;
  }
  const files = new Set(summary.issues.map((i) => i.file)).size;
  process.stdout.write(`${summary.issues.length} error(s) in ${files} file(s) (${checked} checked)\n`);
  return 1;
}
