// No write through a symlink: every directory on the way to a managed file is
// checked with lstat (which never follows the last component) from the root
// down, so a symlink planted anywhere in the path — /srv/app → /etc, say — is
// refused instead of followed. The target itself may not be a symlink either.
import { chmod, lstat, mkdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { GitfleetError } from '../../../shared/errors.ts';
import { pathComponents } from './file-paths.ts';
import { DEFAULT_DIR_MODE } from './file-modes.ts';

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new GitfleetError('FILE_FAILED', `cannot inspect ${path}: ${(error as Error).message}`, { cause: error });
  }
}

export interface WalkResult {
  /** Whether every parent directory exists (always true after `create`). */
  parentExists: boolean;
  /** lstat of the target; null when absent. Always a regular file when set. */
  target: Stats | null;
}

/**
 * Walks `path` (absolute, already validated) under `rootDir`. With `create`,
 * missing parents are made with mode 0755. Throws UNSAFE_PATH naming the
 * offending component, FILE_FAILED when the target is not a regular file.
 */
export async function walkPath(rootDir: string, path: string, options: { create: boolean }): Promise<WalkResult> {
  const parts = pathComponents(path);
  let prefix = '';
  for (const part of parts.slice(0, -1)) {
    prefix += `/${part}`;
    const onDisk = join(rootDir, prefix);
    let st = await lstatOrNull(onDisk);
    if (st === null) {
      if (!options.create) return { parentExists: false, target: null };
      try {
        await mkdir(onDisk, { mode: DEFAULT_DIR_MODE });
        await chmod(onDisk, DEFAULT_DIR_MODE); // mkdir's mode is filtered by the umask
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new GitfleetError('FILE_FAILED', `cannot create directory ${prefix} for ${path}: ${(error as Error).message}`, { cause: error });
        }
      }
      st = await lstatOrNull(onDisk);
      if (st === null) throw new GitfleetError('FILE_FAILED', `directory ${prefix} vanished while writing ${path}`);
    }
    if (st.isSymbolicLink()) throw new GitfleetError('UNSAFE_PATH', `refusing ${path}: ${prefix} is a symlink on the host`);
    if (!st.isDirectory()) throw new GitfleetError('UNSAFE_PATH', `refusing ${path}: ${prefix} is not a directory on the host`);
  }
  const target = await lstatOrNull(join(rootDir, path));
  if (target?.isSymbolicLink()) throw new GitfleetError('UNSAFE_PATH', `refusing ${path}: it is a symlink on the host`);
  if (target?.isDirectory()) throw new GitfleetError('FILE_FAILED', `${path} is a directory on the host, not a file`);
  if (target && !target.isFile()) throw new GitfleetError('FILE_FAILED', `${path} is not a regular file on the host`);
  return { parentExists: true, target };
}
