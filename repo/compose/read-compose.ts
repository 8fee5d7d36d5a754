// Reads a Compose file of a layer with what it names beside it: the `.env`
// in its directory (optional) and the env_file / configs / secrets files it
// refers to, all through the tree's confined reader (no symlink out of the
// tree, size limit). A path that leaves the tree is refused.
import { lstatSync, realpathSync } from 'node:fs';
import { join, posix } from 'node:path';
import { issue, wholeFile } from '../tree/issues.ts';
import type { LayerFile } from '../tree/layer-file.ts';
import type { FleetTree } from '../tree/tree-fs.ts';
import { readTreeFile, relJoin } from '../tree/tree-fs.ts';
import { parseComposeFile, sideFilePaths } from './compose-file.ts';
import { parseEnvFile } from './dotenv.ts';

function exists(tree: FleetTree, rel: string): boolean {
  try {
    lstatSync(join(tree.root, rel));
    return true;
  } catch {
    return false;
  }
}

/** A directory symlink on the way could lead out of the tree: the resolved path must stay inside. */
function resolvesInside(tree: FleetTree, rel: string): boolean {
  try {
    const real = realpathSync(join(tree.root, rel));
    return real.startsWith(tree.root + '/');
  } catch {
    return false;
  }
}

export async function readComposeLayerFile(tree: FleetTree, file: string, text: string, role: 'base' | 'override'): Promise<LayerFile> {
  const { doc, issues } = parseComposeFile(file, text, role);
  const out: LayerFile = { file, issues, vars: [], drift: null, entries: [], host: null, compose: doc };
  const envPath = relJoin(doc.dir, '.env');
  if (exists(tree, envPath)) {
    const read = await readTreeFile(tree, envPath);
    if ('issue' in read) issues.push(read.issue);
    else {
      doc.dotenv = parseEnvFile(read.text);
      for (const p of doc.dotenv.problems) issues.push(issue(envPath, { line: p.line, column: 1 }, 'INVALID_VALUE', p.message));
    }
  }
  for (const side of sideFilePaths(doc)) {
    if (side.path === '..' || side.path.startsWith('../') || posix.isAbsolute(side.path)) {
      issues.push(issue(file, wholeFile, 'INVALID_PATH', `"${side.path}" is outside the fleet tree; files a Compose file names must be inside it`));
      continue;
    }
    if (doc.sideFiles.has(side.path)) continue;
    if (!exists(tree, side.path)) {
      if (!side.optional) issues.push(issue(file, wholeFile, 'FILE_UNREADABLE', `${side.path}, named by this Compose file, does not exist in the fleet tree`));
      continue;
    }
    if (!resolvesInside(tree, side.path)) {
      issues.push(issue(file, wholeFile, 'SYMLINK_ESCAPE', `${side.path}, named by this Compose file, resolves outside the fleet tree (a symlink)`));
      continue;
    }
    const read = await readTreeFile(tree, side.path);
    if ('issue' in read) issues.push(read.issue);
    else doc.sideFiles.set(side.path, read.text);
  }
  if (issues.length > 0) doc.value = null;
  return out;
}
