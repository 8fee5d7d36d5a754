// The shape of a fleet tree: which directory is a tag, a host, a cross-cutting
// tag; the layout rules both the full scan and the one-host loader apply; and
// how one host's directory is found without reading the whole fleet.
import { hostNameProblem } from '../../shared/resources.ts';
import { IO_PARALLELISM, mapLimit } from './concurrency.ts';
import type { ValidationIssue } from './issues.ts';
import { issue, wholeFile } from './issues.ts';
import type { DirListing, FleetTree } from './tree-fs.ts';
import { CROSS_TAGS_DIR, dirLabel, HOST_FILE, hasHostFile, listDir, relJoin } from './tree-fs.ts';

export type DirRole = 'root' | 'path' | 'host' | 'tags-root' | 'cross';

export function baseName(dir: string): string {
  return dir.slice(dir.lastIndexOf('/') + 1);
}

export function roleOf(listing: DirListing): DirRole {
  if (listing.dir === '') return 'root';
  if (listing.dir === CROSS_TAGS_DIR) return 'tags-root';
  if (listing.dir.startsWith(CROSS_TAGS_DIR + '/')) return 'cross';
  return listing.hasHostFile ? 'host' : 'path';
}

export function nestedDirIssue(parent: string, child: string, parentKind: 'host' | 'cross'): ValidationIssue {
  const why =
    parentKind === 'host'
      ? `${dirLabel(parent)} is a host directory (it has host.yaml), and a host directory cannot contain directories`
      : `${dirLabel(parent)} is a cross-cutting tag, and a cross-cutting tag directory cannot contain directories`;
  return issue(dirLabel(relJoin(parent, child)), wholeFile, 'LAYOUT_INVALID', why);
}

/** The layout rules for one directory, given what it is. */
export function layoutIssues(listing: DirListing, role: DirRole): ValidationIssue[] {
  const out = [...listing.issues];
  const { dir } = listing;
  const name = baseName(dir);
  const nameProblem = role === 'root' || role === 'tags-root' ? null : hostNameProblem(name);
  if (nameProblem !== null) {
    const what = role === 'host' ? 'host id' : 'tag name';
    out.push(issue(dirLabel(dir), wholeFile, 'INVALID_NAME', `"${name}" is not a valid ${what}: ${nameProblem}`));
  }
  if (role === 'root' && listing.hasHostFile) {
    out.push(issue(HOST_FILE, wholeFile, 'LAYOUT_INVALID', 'host.yaml at the tree root; a host directory is a directory named after its host'));
  }
  if (role === 'tags-root') {
    if (listing.hasHostFile) out.push(issue(relJoin(dir, HOST_FILE), wholeFile, 'LAYOUT_INVALID', 'host.yaml in tags/; hosts live in the tag directories, not among the cross-cutting tags'));
    for (const f of listing.yamlFiles) {
      out.push(issue(relJoin(dir, f), wholeFile, 'LAYOUT_INVALID', `a resource file directly in tags/ applies to no host; put it in tags/NAME/`));
    }
  }
  if (role === 'cross' && listing.hasHostFile) {
    out.push(issue(relJoin(dir, HOST_FILE), wholeFile, 'LAYOUT_INVALID', 'host.yaml in a cross-cutting tag directory; hosts live in the tag directories'));
  }
  if (role === 'host' || role === 'cross') for (const child of listing.dirs) out.push(nestedDirIssue(dir, child, role));
  return out;
}

export interface TreeScan {
  listings: Map<string, DirListing>;
  /** Host id → its directories (more than one is a duplicate). */
  hostDirs: Map<string, string[]>;
  /** Path tag directories (not root, not under tags/, not host directories). */
  pathTags: string[];
  /** Names of the directories under tags/. */
  crossTags: string[];
  issues: ValidationIssue[];
}

/** Lists every directory of the tree (reads no files) and applies the layout rules. */
export async function scanTree(tree: FleetTree): Promise<TreeScan> {
  const scan: TreeScan = { listings: new Map(), hostDirs: new Map(), pathTags: [], crossTags: [], issues: [] };
  let level = [''];
  while (level.length > 0) {
    const listings = await mapLimit(level, IO_PARALLELISM, (dir) => listDir(tree, dir));
    const next: string[] = [];
    for (const listing of listings) {
      scan.listings.set(listing.dir, listing);
      const role = roleOf(listing);
      scan.issues.push(...layoutIssues(listing, role));
      if (role === 'host') {
        const id = baseName(listing.dir);
        scan.hostDirs.set(id, [...(scan.hostDirs.get(id) ?? []), listing.dir]);
      } else if (role === 'path') {
        scan.pathTags.push(listing.dir);
      } else if (role === 'cross') {
        scan.crossTags.push(baseName(listing.dir));
      }
      if (role === 'root' || role === 'path' || role === 'tags-root') next.push(...listing.dirs.map((d) => relJoin(listing.dir, d)));
    }
    level = next;
  }
  const rootDirs = new Set(scan.listings.get('')?.dirs ?? []);
  for (const name of scan.crossTags) {
    if (rootDirs.has(name)) scan.issues.push(crossTagCollision(name));
  }
  for (const [id, dirs] of scan.hostDirs) {
    for (const dup of dirs.slice(1)) scan.issues.push(duplicateHostIssue(id, dirs[0]!, dup));
  }
  scan.pathTags.sort();
  scan.crossTags.sort();
  return scan;
}

export function crossTagCollision(name: string): ValidationIssue {
  return issue(dirLabel(relJoin(CROSS_TAGS_DIR, name)), wholeFile, 'LAYOUT_INVALID', `"${name}" is both a top-level tag directory and a cross-cutting tag in tags/; rename one`);
}

export function duplicateHostIssue(id: string, first: string, dup: string): ValidationIssue {
  return issue(relJoin(dup, HOST_FILE), wholeFile, 'DUPLICATE_HOST', `host id "${id}" is declared twice: ${dirLabel(first)} and ${dirLabel(dup)}`);
}

/**
 * Finds the directories named `id` that hold host.yaml, level by level from
 * the root: at each level it first probes `D/<id>/host.yaml` for every
 * directory D of that level (one stat each) and only lists the level's
 * directories to go one level deeper when no probe hit. So a host at depth d
 * costs a listing of the directories above depth d-1 and a stat per
 * directory at depth d-1: the tag directories, never the other hosts, so the
 * cost does not grow with the number of hosts. Several matches at one depth
 * are all returned (a duplicate); a duplicate deeper than the first match is
 * not seen here (validateTree sees it).
 */
export async function findHostDirs(tree: FleetTree, id: string): Promise<string[]> {
  let level = [''];
  while (level.length > 0) {
    const probes = level.filter((dir) => !(dir === '' && id === CROSS_TAGS_DIR)).map((dir) => relJoin(dir, id));
    const hits = await mapLimit(probes, IO_PARALLELISM, async (dir) => ((await hasHostFile(tree, dir)) ? dir : null));
    const found = hits.filter((d): d is string => d !== null);
    if (found.length > 0) return found;
    const listings = await mapLimit(level, IO_PARALLELISM, (dir) => listDir(tree, dir));
    const next: string[] = [];
    for (const listing of listings) {
      const role = roleOf(listing);
      if (role !== 'root' && role !== 'path') continue;
      for (const child of listing.dirs) {
        if (role === 'root' && child === CROSS_TAGS_DIR) continue;
        next.push(relJoin(listing.dir, child));
      }
    }
    level = next;
  }
  return [];
}
