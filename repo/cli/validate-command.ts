// `gitfleet validate [DIR]`: lints a fleet tree for its own CI. Prints every
// error as `file:line:column  CODE  message`, then a summary; exit 1 when any.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatIssue, validateTree } from '../tree/index.ts';

const usage = `usage: gitfleet validate [--json] [DIR]

Checks the fleet tree in DIR (default: the current directory): layout, every
resource file, and the merged state of every host and place-only group.

  --json   print the errors as a JSON array of {file, line, column, code, message}

exit codes: 0 no errors, 1 errors found, 2 usage error (e.g. DIR is not a directory)
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length > 1) {
    process.stderr.write(`gitfleet validate: one directory at most, got ${positionals.length}\n\n${usage}`);
    return 2;
  }
  const dir = resolve(positionals[0] ?? '.');
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
    process.stderr.write(`gitfleet validate: ${dir} is not a directory\n`);
    return 2;
  }
  const summary = await validateTree(dir);
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
