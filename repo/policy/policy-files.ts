// Reads policy files: the host's (a path on the host, owned by its
// administrator) and the fleet repo's `policy.yaml` in the directories of a
// host's layers (root, tag directories, cross-cutting tags, its own
// directory), and folds them into the host's effective policy. Errors carry
// file:line like any other problem of a fleet tree.
import { readFile } from 'node:fs/promises';
import { GitfleetError } from '../../shared/errors.ts';
import type { Policy } from '../../shared/policy/index.ts';
import { narrowPolicy, PolicySchema } from '../../shared/policy/index.ts';
import type { ValidationIssue } from '../tree/issues.ts';
import { formatIssue, issue, wholeFile } from '../tree/issues.ts';
import { openTree, POLICY_FILE, readTreeFile, relJoin } from '../tree/tree-fs.ts';
import { parseYaml } from '../tree/yaml-source.ts';
import type { YamlSource } from '../tree/yaml-source.ts';
import { zodIssuesToValidation } from '../tree/zod-issues.ts';

export const MAX_POLICY_BYTES = 256 * 1024;

export interface PolicyFile {
  file: string;
  /** Null when the file has issues. */
  policy: Policy | null;
  issues: ValidationIssue[];
  source: YamlSource | null;
}

/** Parses the text of one policy file; an empty file is an empty policy. */
export function parsePolicyText(file: string, text: string): PolicyFile {
  const source = parseYaml(file, text);
  if (source.issues.length > 0) return { file, policy: null, issues: source.issues, source };
  const value = source.value ?? {};
  const parsed = PolicySchema.safeParse(value);
  if (!parsed.success) {
    const issues = zodIssuesToValidation(parsed.error.issues, { source, base: [], subject: '', schema: PolicySchema, value });
    return { file, policy: null, issues, source };
  }
  return { file, policy: parsed.data, issues: [], source };
}

/** The host's policy file; null when it does not exist. Throws POLICY_INVALID for anything unreadable or malformed. */
export async function readHostPolicyFile(path: string): Promise<{ text: string; parsed: PolicyFile } | null> {
  let text: string;
  try {
    const buffer = await readFile(path);
    if (buffer.length > MAX_POLICY_BYTES) throw new GitfleetError('POLICY_INVALID', `host policy ${path} is ${buffer.length} bytes; the limit is ${MAX_POLICY_BYTES}`);
    text = buffer.toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (error instanceof GitfleetError) throw error;
    throw new GitfleetError('POLICY_INVALID', `cannot read host policy ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  const parsed = parsePolicyText(path, text);
  if (parsed.issues.length > 0) throw new GitfleetError('POLICY_INVALID', `host policy ${formatIssue(parsed.issues[0]!)}${parsed.issues.length > 1 ? ` (and ${parsed.issues.length - 1} more)` : ''}`);
  return { text, parsed };
}

/** The `policy.yaml` of each layer directory that has one, general to specific. */
export async function readRepoPolicies(treeRoot: string, layers: readonly string[]): Promise<PolicyFile[]> {
  const tree = await openTree(treeRoot);
  if (!tree) return [];
  const out: PolicyFile[] = [];
  for (const dir of layers) {
    const rel = relJoin(dir, POLICY_FILE);
    const read = await readTreeFile(tree, rel, true);
    if ('issue' in read) {
      // Absent is the common case; anything else (a directory, too large, a symlink out) is an error.
      if (read.issue.code === 'FILE_UNREADABLE' && /ENOENT/.test(read.issue.message)) continue;
      out.push({ file: rel, policy: null, issues: [read.issue], source: null });
      continue;
    }
    out.push(parsePolicyText(rel, read.text));
  }
  return out;
}

export interface Effective {
  policy: Policy;
  /** Repo policy files that narrowed it (repo-relative), general to specific. */
  files: string[];
  /** Malformed repo policies and attempts to widen, with file:line. */
  issues: ValidationIssue[];
}

/** The host policy narrowed by each repo policy in turn. */
export function effectivePolicy(host: Policy, repo: readonly PolicyFile[]): Effective {
  let policy = host;
  const issues: ValidationIssue[] = [];
  const files: string[] = [];
  for (const f of repo) {
    if (f.policy === null) {
      issues.push(...f.issues);
      continue;
    }
    const narrowed = narrowPolicy(policy, f.policy);
    for (const w of narrowed.widenings) issues.push(issue(f.file, f.source?.locate(w.path, 'value') ?? wholeFile, 'POLICY_WIDENED', w.message));
    policy = narrowed.policy;
    files.push(f.file);
  }
  return { policy, files, issues };
}
