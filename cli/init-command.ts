// `gitfleet init [DIR] [--host ID] [--tag TAG]`: starts a fleet repository
// with one host, a file for every host and a README, that `gitfleet validate`
// accepts as it is. Never overwrites: an existing file stops it.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCommandArgs, UsageError } from '../repo/cli/args.ts';

export const usage = `usage: gitfleet init [DIR] [--host ID] [--tag TAG]

Creates a fleet repository in DIR (default: the current directory): base.yaml (a file
for every host), TAG/ID/host.yaml (the first host) and a README. Nothing is overwritten.
Then: gitfleet validate DIR; gitfleet render --repo DIR --host ID; git init and push.

      --host ID   the first host's id (default web-01)
      --tag TAG   the directory (tag) it sits in (default lab)`;

const hostLabel = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const tagPath = /^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)*$/;

export function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('init', argv, { host: { type: 'string' }, tag: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, 1);
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return Promise.resolve(0);
  }
  const host = values.host ?? 'web-01';
  const tag = values.tag ?? 'lab';
  if (!hostLabel.test(host)) throw new UsageError('init', `--host: "${host}" is not a host id (letters, digits and -, up to 63)`);
  if (!tagPath.test(tag) || tag.startsWith('tags')) throw new UsageError('init', `--tag: "${tag}" is not a tag directory (lowercase letters, digits, -, nested with /; not tags/)`);
  const dir = resolve(positionals[0] ?? '.');
  const files: Record<string, string> = {
    'README.md': `# Fleet repository\n\nManaged by gitfleet: every directory is a tag, a directory with a host.yaml is a host,\nand every other *.yaml declares resources for all hosts at or below it.\n\n    gitfleet validate .\n    gitfleet render --repo . --host ${host}\n`,
    'base.yaml': `# Applies to every host.\nfiles:\n  /etc/gitfleet-managed:\n    content: |\n      \${host} is managed by gitfleet (tags: \${tags}).\n    mode: "0644"\n`,
    [join(tag, host, 'host.yaml')]: `# The host ${host}. Its tags: ${tag.split('/').map((_, i, a) => a.slice(0, i + 1).join('/')).join(', ')}.\nvars: {}\n`,
  };
  const existing = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (existing.length > 0) {
    process.stderr.write(`gitfleet init: ${existing.map((f) => join(dir, f)).join(', ')} already exist(s); nothing was written\n`);
    return Promise.resolve(1);
  }
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text, { flag: 'wx' });
  }
  process.stdout.write(`created a fleet repository in ${dir} with host ${host} (tag ${tag})\nnext: gitfleet validate ${positionals[0] ?? '.'}\n`);
  return Promise.resolve(0);
}
