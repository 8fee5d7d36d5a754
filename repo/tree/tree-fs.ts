// Read-only access to a fleet tree, confined to it: symlinks may point only
// inside the tree, only regular files are read, and no file over the size
// limit is read at all. Names starting with '.' (.git, .github) are not part
// of the fleet and are skipped.
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ValidationIssue } from './issues.ts';
import { issue, wholeFile } from './issues.ts';

export const MAX_FILE_BYTES = 1024 * 1024;
export const HOST_FILE = 'host.yaml';
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
export async function openTree(treeRoot: string): Promise<FleetTree | null> {
  try {
    const root = await realpath(treeRoot);
    if (!(await stat(root)).isDirectory()) return null;
    return { root };
  } catch {
    return null;
  }
}

function inside(tree: FleetTree, real: string): boolean {
  return real === tree.root || real.startsWith(tree.root + '/');
}

function isYamlName(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

/** Lists one directory; a missing directory gives an empty listing with an issue. */
export async function listDir(tree: FleetTree, dir: string): Promise<DirListing> {
  const listing: DirListing = { dir, dirs: [], yamlFiles: [], hasHostFile: false, issues: [] };
  let entries;
  try {
    entries = await readdir(join(tree.root, dir), { withFileTypes: true });
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
      const target = await symlinkTarget(tree, rel);
      if (typeof target !== 'string') {
        listing.issues.push(target);
        continue;
      }
      try {
        const st = await stat(target);
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch (error) {
        listing.issues.push(issue(rel, wholeFile, 'FILE_UNREADABLE', `cannot read the symlink's target: ${errnoText(error)}`));
        continue;
      }
      if (isDir) {
        // Following directory links could loop and would make one directory two tags.
        listing.issues.push(issue(rel, wholeFile, 'LAYOUT_INVALID', 'a symlink to a directory; the fleet tree uses real directories only'));
        continue;
      }
    }
    if (isDir) {
      listing.dirs.push(entry.name);
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
async function symlinkTarget(tree: FleetTree, rel: string): Promise<string | ValidationIssue> {
  let real: string;
  try {
    real = await realpath(join(tree.root, rel));
  } catch (error) {
    return issue(rel, wholeFile, 'FILE_UNREADABLE', `a symlink whose target cannot be resolved: ${errnoText(error)}`);
  }
  if (!inside(tree, real)) return issue(rel, wholeFile, 'SYMLINK_ESCAPE', 'a symlink that points outside the fleet tree');
  return real;
}

/** Whether `dir/host.yaml` exists as a file (used by the host lookup; no issues). */
export async function hasHostFile(tree: FleetTree, dir: string): Promise<boolean> {
  try {
    return (await stat(join(tree.root, dir, HOST_FILE))).isFile();
  } catch {
    return false;
  }
}

/** Whether `dir` is a directory of the tree (not a symlink to one). */
export async function isTreeDir(tree: FleetTree, dir: string): Promise<boolean> {
  try {
    const real = await realpath(join(tree.root, dir));
    return real === join(tree.root, dir) && (await stat(real)).isDirectory();
  } catch {
    return false;
  }
}

/** Reads a file that a listing returned; refuses anything over the size limit before reading it. */
export async function readTreeFile(tree: FleetTree, rel: string): Promise<{ text: string } | { issue: ValidationIssue }> {
  const real = await symlinkTarget(tree, rel);
  if (typeof real !== 'string') return { issue: real };
  let handle;
  try {
    handle = await open(real, 'r');
  } catch (error) {
    return { issue: issue(rel, wholeFile, 'FILE_UNREADABLE', `cannot open the file: ${errnoText(error)}`) };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return { issue: issue(rel, wholeFile, 'FILE_UNREADABLE', 'not a regular file') };
    if (st.size > MAX_FILE_BYTES) {
      return { issue: issue(rel, wholeFile, 'FILE_TOO_LARGE', `the file is ${st.size} bytes; the limit is ${MAX_FILE_BYTES} bytes (1 MiB)`) };
    }
    // Read at most one byte past the limit, in case the file grew after stat.
    const buffer = Buffer.alloc(Math.min(st.size, MAX_FILE_BYTES) + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_FILE_BYTES) {
      return { issue: issue(rel, wholeFile, 'FILE_TOO_LARGE', `the file is over the limit of ${MAX_FILE_BYTES} bytes (1 MiB)`) };
    }
    return { text: buffer.toString('utf8', 0, bytesRead) };
  } catch (error) {
    return { issue: issue(rel, wholeFile, 'FILE_UNREADABLE', `cannot read the file: ${errnoText(error)}`) };
  } finally {
    await handle.close();
  }
}

function errnoText(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}
