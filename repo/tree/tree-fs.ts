// Read-only access to a fleet tree, confined to it: symlinks may point only
// inside the tree, only regular files are read, and no file over the size
// limit is read at all. Names starting with '.' (.git, .github) are not part
// of the fleet and are skipped.
//
// The calls are synchronous on purpose: a fleet tree is a local checkout of
// small files, where one sync call costs a few microseconds and an async one
// a thread-pool round trip that is ten times more (measured: validate of
// 10,000 hosts). Callers go through mapLimit (concurrency.ts), which yields
// to the event loop between small batches, so a hub or agent stays
// responsive while a big tree is read.
import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { join } from 'node:path';
import type { ValidationIssue } from './issues.ts';
import { issue, wholeFile } from './issues.ts';

export const MAX_FILE_BYTES = 1024 * 1024;
export const HOST_FILE = 'host.yaml';
/** A directory's repo policy (docs/policy.md): read by repo/policy, not a resource file. */
export const POLICY_FILE = 'policy.yaml';
/** A directory's rollout policy (docs/rollouts.md): read by repo/rollout, not a resource file. */
export const ROLLOUT_FILE = 'rollout.yaml';
/** The top-level directory that holds cross-cutting tags. */
export const CROSS_TAGS_DIR = 'tags';

export interface FleetTree {
  /** The tree root with every symlink resolved. */
  readonly root: string;
}

export interface DirListing {
  /** Relative to the tree root, '' for the root itself. */
  dir: string;
  /** Child directory names, sorted. */
  dirs: string[];
  /** `*.yaml` / `*.yml` files other than host.yaml, sorted (names only). */
  yamlFiles: string[];
  hasHostFile: boolean;
  /** Names of the listed files that are symlinks (checked to stay inside the tree). */
  symlinks: Set<string>;
  issues: ValidationIssue[];
}

/** Joins tree-relative parts: '' is the root. */
export function relJoin(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

export function dirLabel(dir: string): string {
  return dir === '' ? './' : `${dir}/`;
}

/** Returns null when `treeRoot` is not a readable directory. */
export function openTree(treeRoot: string): Promise<FleetTree | null> {
  try {
    const root = realpathSync(treeRoot);
    if (!statSync(root).isDirectory()) return Promise.resolve(null);
    return Promise.resolve({ root });
  } catch {
    return Promise.resolve(null);
  }
}

function inside(tree: FleetTree, real: string): boolean {
  return real === tree.root || real.startsWith(tree.root + '/');
}

function isYamlName(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

/** Lists one directory; a missing directory gives an empty listing with an issue. */
export function listDir(tree: FleetTree, dir: string): Promise<DirListing> {
  return Promise.resolve(listDirSync(tree, dir));
}

function listDirSync(tree: FleetTree, dir: string): DirListing {
  const listing: DirListing = { dir, dirs: [], yamlFiles: [], hasHostFile: false, symlinks: new Set(), issues: [] };
  let entries: Dirent[];
  try {
    entries = readdirSync(join(tree.root, dir), { withFileTypes: true });
  } catch (error) {
    listing.issues.push(issue(dirLabel(dir), wholeFile, 'FILE_UNREADABLE', `cannot read the directory: ${errnoText(error)}`));
    return listing;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const rel = relJoin(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = symlinkTarget(tree, rel);
      if (typeof target !== 'string') {
        listing.issues.push(target);
        continue;
      }
      try {
        const st = statSync(target);
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch (error) {
        listing.issues.push(issue(rel, wholeFile, 'FILE_UNREADABLE', `cannot read the symlink's target: ${errnoText(error)}`));
        continue;
      }
      listing.symlinks.add(entry.name);
      if (isDir) {
        // Following directory links could loop and would make one directory two tags.
        listing.issues.push(issue(rel, wholeFile, 'LAYOUT_INVALID', 'a symlink to a directory; the fleet tree uses real directories only'));
        continue;
      }
    }
    if (isDir) {
      listing.dirs.push(entry.name);
    } else if ((entry.name === POLICY_FILE || entry.name === ROLLOUT_FILE) && dir !== CROSS_TAGS_DIR) {
      continue;
    } else if (entry.name === HOST_FILE || isYamlName(entry.name)) {
      if (!isFile) {
        listing.issues.push(issue(rel, wholeFile, 'FILE_UNREADABLE', 'not a regular file'));
      } else if (entry.name === HOST_FILE) {
        listing.hasHostFile = true;
      } else {
        listing.yamlFiles.push(entry.name);
      }
    }
  }
  return listing;
}

/** The resolved target when it is inside the tree, else the issue. */
function symlinkTarget(tree: FleetTree, rel: string): string | ValidationIssue {
  let real: string;
  try {
    real = realpathSync(join(tree.root, rel));
  } catch (error) {
    return issue(rel, wholeFile, 'FILE_UNREADABLE', `a symlink whose target cannot be resolved: ${errnoText(error)}`);
  }
  if (!inside(tree, real)) return issue(rel, wholeFile, 'SYMLINK_ESCAPE', 'a symlink that points outside the fleet tree');
  return real;
}

/** Whether `dir/host.yaml` exists as a file (used by the host lookup; no issues). */
export function hasHostFile(tree: FleetTree, dir: string): Promise<boolean> {
  try {
    return Promise.resolve(statSync(join(tree.root, dir, HOST_FILE)).isFile());
  } catch {
    return Promise.resolve(false);
  }
}

/** Whether `dir` is a directory of the tree (not a symlink to one). */
export function isTreeDir(tree: FleetTree, dir: string): Promise<boolean> {
  try {
    const real = realpathSync(join(tree.root, dir));
    return Promise.resolve(real === join(tree.root, dir) && statSync(real).isDirectory());
  } catch {
    return Promise.resolve(false);
  }
}

/**
 * Reads a file that a listing returned, refusing anything over the size limit
 * before reading it. `viaSymlink`: the listing saw a symlink, so its target is
 * checked again; otherwise the file is opened with O_NOFOLLOW. O_NONBLOCK: a
 * FIFO swapped in after the listing cannot block the open.
 */
export function readTreeFile(tree: FleetTree, rel: string, viaSymlink = false): Promise<{ text: string } | { issue: ValidationIssue }> {
  return Promise.resolve(readTreeFileSync(tree, rel, viaSymlink));
}

function readTreeFileSync(tree: FleetTree, rel: string, viaSymlink: boolean): { text: string } | { issue: ValidationIssue } {
  let path = join(tree.root, rel);
  if (viaSymlink) {
    const real = symlinkTarget(tree, rel);
    if (typeof real !== 'string') return { issue: real };
    path = real;
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return { issue: issue(rel, wholeFile, 'FILE_UNREADABLE', `cannot open the file: ${errnoText(error)}`) };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { issue: issue(rel, wholeFile, 'FILE_UNREADABLE', 'not a regular file') };
    if (st.size > MAX_FILE_BYTES) {
      return { issue: issue(rel, wholeFile, 'FILE_TOO_LARGE', `the file is ${st.size} bytes; the limit is ${MAX_FILE_BYTES} bytes (1 MiB)`) };
    }
    // readFileSync on a descriptor reads the size fstat reported, so a file growing meanwhile stays bounded.
    return { text: readFileSync(fd, 'utf8') };
  } catch (error) {
    return { issue: issue(rel, wholeFile, 'FILE_UNREADABLE', `cannot read the file: ${errnoText(error)}`) };
  } finally {
    closeSync(fd);
  }
}

function errnoText(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}
