// Reads the `rollout.yaml` files of a fleet tree: one at the root or in any
// tag directory, each applying to the hosts below it (the nearest one wins).
// Errors carry file:line like every other problem of the tree: the format,
// a wave naming a tag or host the scope does not have, a rollout.yaml in a
// host directory or a cross-cutting tag (where it would apply to nothing).
import type { ValidationIssue } from '../tree/issues.ts';
import { issue, wholeFile } from '../tree/issues.ts';
import { CROSS_TAGS_DIR, openTree, readTreeFile, relJoin, ROLLOUT_FILE } from '../tree/tree-fs.ts';
import type { TreeSummary } from '../tree/validate.ts';
import { parseYaml } from '../tree/yaml-source.ts';
import type { DataPath } from '../tree/yaml-source.ts';
import { zodIssuesToValidation } from '../tree/zod-issues.ts';
import type { RolloutPolicy } from './rollout-schema.ts';
import { normalizePolicy, RolloutPolicySchema } from './rollout-schema.ts';

type Locate = (path: DataPath) => { line: number; column: number };

/** A rollout policy and the directory whose hosts it stages ('' is the whole tree). */
export interface RolloutScope {
  dir: string;
  file: string;
  policy: RolloutPolicy;
}

export interface RolloutReading {
  /** Valid policies only, deepest directory first. */
  scopes: RolloutScope[];
  /** Directories whose rollout.yaml exists but is invalid: the hub holds their hosts where they are. */
  invalid: string[];
  issues: ValidationIssue[];
}

/** Whether `dir` is `scope` or below it. */
export function withinScope(dir: string, scope: string): boolean {
  return scope === '' || dir === scope || dir.startsWith(scope + '/');
}

/** The scope that applies to a host directory (or place): the nearest rollout.yaml above it; null when none. */
export function scopeOf(hostDir: string, scopes: readonly RolloutScope[]): RolloutScope | null {
  let best: RolloutScope | null = null;
  for (const s of scopes) if (withinScope(hostDir, s.dir) && (best === null || s.dir.length > best.dir.length)) best = s;
  return best;
}

/** Parses one rollout.yaml; an issue for every problem of its format. */
export function parseRolloutText(file: string, text: string): { policy: RolloutPolicy | null; issues: ValidationIssue[]; locate: Locate } {
  const source = parseYaml(file, text);
  const locate: Locate = (path) => source.locate(path);
  if (source.issues.length > 0) return { policy: null, issues: source.issues, locate };
  const value = source.value ?? {};
  const parsed = RolloutPolicySchema.safeParse(value);
  if (!parsed.success) return { policy: null, issues: zodIssuesToValidation(parsed.error.issues, { source, base: [], subject: '', schema: RolloutPolicySchema, value }), locate };
  return { policy: normalizePolicy(parsed.data), issues: [], locate };
}

function ancestorsAndSelf(dir: string): string[] {
  const parts = dir.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Reads every rollout.yaml of a validated tree. */
export async function readRolloutPolicies(treeRoot: string, summary: Pick<TreeSummary, 'hosts' | 'places' | 'tags'>): Promise<RolloutReading> {
  const tree = await openTree(treeRoot);
  if (!tree) return { scopes: [], invalid: [], issues: [] };
  const tagDirs = new Set<string>(['']);
  for (const h of summary.hosts) for (const t of h.pathTags) tagDirs.add(t);
  for (const p of summary.places) for (const t of ancestorsAndSelf(p)) tagDirs.add(t);
  const misplaced = [...summary.hosts.map((h) => h.dir), ...summary.tags.filter((t) => !tagDirs.has(t) && !t.includes('/')).map((t) => relJoin(CROSS_TAGS_DIR, t))];
  const reading: RolloutReading = { scopes: [], invalid: [], issues: [] };
  const locators = new Map<string, Locate>();
  for (const dir of [...tagDirs].sort()) {
    const file = relJoin(dir, ROLLOUT_FILE);
    const read = await readTreeFile(tree, file, true);
    if ('issue' in read) {
      if (read.issue.code === 'FILE_UNREADABLE' && /ENOENT/.test(read.issue.message)) continue;
      reading.issues.push(read.issue);
      reading.invalid.push(dir);
      continue;
    }
    const parsed = parseRolloutText(file, read.text);
    reading.issues.push(...parsed.issues);
    if (!parsed.policy) reading.invalid.push(dir);
    if (parsed.policy) {
      reading.scopes.push({ dir, file, policy: parsed.policy });
      locators.set(dir, parsed.locate);
    }
  }
  for (const dir of misplaced) {
    const file = relJoin(dir, ROLLOUT_FILE);
    const read = await readTreeFile(tree, file, true);
    if ('issue' in read && /ENOENT/.test(read.issue.message)) continue;
    const where = dir.startsWith(CROSS_TAGS_DIR + '/') ? 'a cross-cutting tag directory' : 'a host directory';
    reading.issues.push(issue(file, wholeFile, 'LAYOUT_INVALID', `rollout.yaml in ${where} applies to nothing; put it at the tree root or in a tag directory above the hosts it stages`));
  }
  reading.issues.push(...waveReferenceIssues(reading.scopes, summary, locators));
  reading.scopes.sort((a, b) => b.dir.length - a.dir.length || (a.dir < b.dir ? -1 : 1));
  return reading;
}

/** A wave naming a host or tag that no host of its scope has is a typo: it would silently select nothing. */
function waveReferenceIssues(scopes: readonly RolloutScope[], summary: Pick<TreeSummary, 'hosts'>, locators: ReadonlyMap<string, Locate>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const scope of scopes) {
    const inScope = summary.hosts.filter((h) => scopeOf(h.dir, scopes) === scope);
    const ids = new Set(inScope.map((h) => h.id));
    const tags = new Set(inScope.flatMap((h) => [...h.pathTags, ...h.crossTags]));
    const at = locators.get(scope.dir) ?? (() => wholeFile);
    scope.policy.waves.forEach((wave, i) => {
      (wave.hosts ?? []).forEach((id, j) => {
        if (!ids.has(id)) issues.push(issue(scope.file, at(['waves', i, 'hosts', j]), 'UNKNOWN_HOST', `waves[${i}].hosts: "${id}" is not a host this rollout.yaml applies to`));
      });
      (wave.tags ?? []).forEach((tag, j) => {
        if (!tags.has(tag)) issues.push(issue(scope.file, at(['waves', i, 'tags', j]), 'UNKNOWN_TAG', `waves[${i}].tags: no host this rollout.yaml applies to has the tag "${tag}"`));
      });
    });
  }
  return issues;
}
