// `gitfleet policy show` and `gitfleet validate --policy`: the host policy
// (docs/policy.md) seen from a fleet repository. `validate --policy FILE`
// checks every host of a tree (or those of one host or tag) against FILE
// narrowed by the tree's policy.yaml files, so a fleet repo's CI refuses a
// merge before any host sees it; `policy show` prints one host's effective
// policy and where each narrowing came from.
import { resolve } from 'node:path';
import { readFile, stat } from 'node:fs/promises';
import { stringify } from 'yaml';
import { parseCommandArgs, UsageError } from './args.ts';
import { isGitfleetError, messageOf } from '../../shared/errors.ts';
import type { Policy } from '../../shared/policy/index.ts';
import { evaluatePolicy } from '../../shared/policy/index.ts';
import { effectivePolicy, MAX_POLICY_BYTES, parsePolicyText, readRepoPolicies } from '../policy/policy-files.ts';
import type { ValidationIssue } from '../tree/index.ts';
import { formatIssue, loadDesiredState, TreeInvalidError, validateTree } from '../tree/index.ts';
import { normalizeIssues } from '../tree/issues.ts';
import { scanTree } from '../tree/layout.ts';
import { CROSS_TAGS_DIR, openTree } from '../tree/tree-fs.ts';

export const DEFAULT_HOST_POLICY = '/etc/gitfleet/policy.yaml';

/** A policy problem of the tree: a validation issue, plus the rule, the resource and the hosts it concerns. */
export interface PolicyIssue extends ValidationIssue {
  rule?: string;
  resource?: string;
  hosts?: string[];
}

/** Reads a policy file given on the command line; a missing or malformed one is a usage error (exit 2). */
async function readPolicyArg(command: string, path: string, optional = false): Promise<Policy | null> {
  let text: string;
  try {
    if ((await stat(path)).size > MAX_POLICY_BYTES) throw new UsageError(command, `policy file ${path} is over ${MAX_POLICY_BYTES} bytes`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UsageError(command, `cannot read policy file ${path}: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`);
  }
  const parsed = parsePolicyText(path, text);
  if (parsed.policy === null) throw new UsageError(command, `policy file ${formatIssue(parsed.issues[0]!)}${parsed.issues.length > 1 ? ` (and ${parsed.issues.length - 1} more)` : ''}`);
  return parsed.policy;
}

async function treeDir(command: string, repo: string | undefined, positional: string | undefined): Promise<string> {
  if (repo !== undefined && positional !== undefined) throw new UsageError(command, '--repo and a directory argument are the same thing; give one');
  const dir = resolve(repo ?? positional ?? '.');
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) throw new UsageError(command, `${dir} is not a directory`);
  return dir;
}

/**
 * Every repo policy.yaml of the tree that is not in the policy format, with its
 * position: plain `gitfleet validate` reports them without a host policy.
 */
export async function repoPolicyIssues(dir: string): Promise<ValidationIssue[]> {
  const tree = await openTree(dir);
  if (!tree) return [];
  const scan = await scanTree(tree);
  // tags/ itself is no layer (a policy.yaml there is already a layout error).
  const files = await readRepoPolicies(dir, [...scan.listings.keys()].filter((d) => d !== CROSS_TAGS_DIR).sort());
  return files.flatMap((f) => f.issues);
}

/** Every policy problem of the hosts selected, merged across hosts (a base.yaml violation is reported once, with its hosts). */
export async function checkTreePolicy(dir: string, host: Policy, select: { host?: string; tag?: string } = {}): Promise<{ issues: PolicyIssue[]; hosts: string[] }> {
  const summary = await validateTree(dir);
  const hosts = summary.hosts.filter((h) => (select.host === undefined || h.id === select.host) && (select.tag === undefined || h.pathTags.includes(select.tag) || h.crossTags.includes(select.tag)));
  const byKey = new Map<string, PolicyIssue>();
  const add = (i: PolicyIssue, hostId: string) => {
    const key = `${formatIssue(i)}\0${i.rule ?? ''}`;
    const known = byKey.get(key);
    if (known) known.hosts = [...(known.hosts ?? []), hostId];
    else byKey.set(key, { ...i, hosts: [hostId] });
  };
  for (const h of hosts) {
    let state;
    try {
      state = await loadDesiredState(dir, { host: h.id });
    } catch (error) {
      if (error instanceof TreeInvalidError) continue; // reported by validateTree below
      throw error;
    }
    const effective = effectivePolicy(host, await readRepoPolicies(dir, state.layers));
    for (const i of effective.issues) add(i, h.id);
    for (const v of evaluatePolicy(effective.policy, state)) {
      add({ file: v.file, line: v.line, column: 1, code: 'POLICY_VIOLATION', message: `${v.resource ? `${v.resource} ` : ''}breaks ${v.rule}: ${v.message}`, rule: v.rule, ...(v.resource ? { resource: v.resource } : {}) }, h.id);
    }
  }
  const merged = [...byKey.values()];
  const order = new Map(normalizeIssues(merged).map((i, n) => [formatIssue(i), n]));
  merged.sort((a, b) => (order.get(formatIssue(a)) ?? 0) - (order.get(formatIssue(b)) ?? 0));
  return { issues: [...summary.issues, ...merged], hosts: hosts.map((h) => h.id) };
}

/** `gitfleet validate --policy FILE [--host H | --tag T] [--json] [DIR]`; called by validate-command.ts. */
export async function validateWithPolicy(options: { policy: string; host?: string | undefined; tag?: string | undefined; json: boolean; dir: string }): Promise<number> {
  if (options.host !== undefined && options.tag !== undefined) throw new UsageError('validate', '--host and --tag select the hosts to check; give one');
  const policy = (await readPolicyArg('validate', options.policy))!;
  const select = { ...(options.host === undefined ? {} : { host: options.host }), ...(options.tag === undefined ? {} : { tag: options.tag }) };
  const { issues, hosts } = await checkTreePolicy(options.dir, policy, select);
  if (hosts.length === 0) {
    const what = options.host !== undefined ? `host "${options.host}"` : options.tag !== undefined ? `host with tag "${options.tag}"` : 'host';
    process.stderr.write(`gitfleet validate: no ${what} in ${options.dir}\n`);
    return 1;
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(issues.map(({ file, line, column, code, message, rule, resource, hosts: on }) => ({ file, line, column, code, message, ...(rule ? { rule } : {}), ...(resource ? { resource } : {}), ...(on ? { hosts: on } : {}) })), null, 2)}\n`);
    return issues.length > 0 ? 1 : 0;
  }
  for (const i of issues) process.stdout.write(`${formatIssue(i)}${i.hosts && i.hosts.length < hosts.length ? `  (hosts: ${i.hosts.join(', ')})` : ''}\n`);
  if (issues.length === 0) {
    process.stdout.write(`ok: ${hosts.length} host(s) comply with ${options.policy} and the repo's policy.yaml files\n`);
    return 0;
  }
  process.stdout.write(`${issues.length} error(s) (${hosts.length} host(s) checked against ${options.policy})\n`);
  return 1;
}

const usage = `usage: gitfleet policy show --host ID [--policy FILE] [--json] [--repo DIR | DIR]

Prints the effective host policy of host ID: the host policy FILE (default
${DEFAULT_HOST_POLICY}, the one on this machine) narrowed by every policy.yaml
of the fleet tree in DIR (default: the current directory) on the host's path.
An absent FILE is shown as an empty policy (an agent without a policy file
enforces only its files.allow). docs/policy.md.

      --host ID      the host id
      --policy FILE  the host policy
      --repo DIR     the fleet tree (a positional DIR is the same)
      --json         print {host, policy, hostPolicy, narrowedBy} as JSON

exit codes: 0 ok, 1 a policy.yaml widens the host policy or the host cannot be evaluated, 2 usage error
`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (sub !== 'show') throw new UsageError('policy', `${sub === undefined ? 'a subcommand is required' : `unknown subcommand "${sub}"`}: the subcommand is show; see gitfleet policy --help`);
  const { values, positionals } = parseCommandArgs(
    'policy show',
    rest,
    { host: { type: 'string' }, policy: { type: 'string' }, repo: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    1,
  );
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.host === undefined) throw new UsageError('policy show', '--host ID is required; see gitfleet policy --help');
  const dir = await treeDir('policy show', values.repo, positionals[0]);
  const file = values.policy ?? DEFAULT_HOST_POLICY;
  const hostPolicy = await readPolicyArg('policy show', file, values.policy === undefined);
  let state;
  try {
    state = await loadDesiredState(dir, { host: values.host });
  } catch (error) {
    if (error instanceof TreeInvalidError) {
      for (const i of error.issues) process.stdout.write(`${formatIssue(i)}\n`);
      return 1;
    }
    if (isGitfleetError(error)) {
      process.stderr.write(`gitfleet policy show: ${error.message} [${error.code}]\n`);
      return 1;
    }
    throw error;
  }
  const effective = effectivePolicy(hostPolicy ?? {}, await readRepoPolicies(dir, state.layers));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ host: values.host, policy: effective.policy, hostPolicy: hostPolicy === null ? null : file, narrowedBy: effective.files, issues: effective.issues }, null, 2)}\n`);
    return effective.issues.length > 0 ? 1 : 0;
  }
  const from = [hostPolicy === null ? `${file} (absent: an empty policy)` : file, ...effective.files].join(', narrowed by ');
  const out = [`# effective host policy of ${values.host}: ${from}`];
  out.push(Object.keys(effective.policy).length === 0 ? '{}' : stringify(effective.policy).trimEnd());
  for (const i of effective.issues) out.push(`error: ${formatIssue(i)}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return effective.issues.length > 0 ? 1 : 0;
}
