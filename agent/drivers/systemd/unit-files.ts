// Unit files and drop-ins on disk: written atomically (temp file, fsync,
// rename, fsync the directory), read without following symlinks (a unit masked
// by hand is a symlink to /dev/null: that is "no file of ours", not content).
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MANAGED_MARKER_PREFIX } from '../../../shared/unit-file.ts';

export async function writeAtomically(dir: string, name: string, content: string): Promise<void> {
  const tmp = join(dir, `.${name}.gitfleet-${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    try {
      await handle.writeFile(content, 'utf8');
      await handle.chmod(0o644);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(dir, name));
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  const dirHandle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

async function kindOf(path: string): Promise<'file' | 'dir' | 'symlink' | 'other' | null> {
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) return 'symlink';
    if (st.isFile()) return 'file';
    if (st.isDirectory()) return 'dir';
    return 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The content of a regular file; null when absent or anything else (symlink, directory). */
export async function readRegularFile(path: string): Promise<string | null> {
  if ((await kindOf(path)) !== 'file') return null;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** `*.conf` regular files in a drop-in directory (a symlinked directory counts as none). */
export async function readDropins(dir: string): Promise<Record<string, string>> {
  if ((await kindOf(dir)) !== 'dir') return {};
  const dropins: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    if (!name.endsWith('.conf')) continue;
    const content = await readRegularFile(join(dir, name));
    if (content !== null) dropins[name] = content;
  }
  return dropins;
}

/** Makes `dir` the drop-in directory holding exactly `dropins` (as *.conf files). */
export async function syncDropins(dir: string, dropins: Record<string, string>): Promise<void> {
  const kind = await kindOf(dir);
  const wanted = Object.keys(dropins);
  if (kind === 'symlink' || kind === 'file' || kind === 'other') {
    // Not ours to follow: replace whatever sits there with a real directory.
    await unlink(dir);
  }
  if (wanted.length === 0) {
    if (kind !== 'dir') return;
    for (const name of await readdir(dir)) if (name.endsWith('.conf')) await rm(join(dir, name), { force: true });
    await rmdir(dir).catch(() => undefined); // other files in it are not ours
    return;
  }
  if (kind !== 'dir') await mkdir(dir, { mode: 0o755 });
  for (const name of wanted) await writeAtomically(dir, name, dropins[name]!);
  for (const name of await readdir(dir)) {
    if (name.endsWith('.conf') && !(name in dropins)) await rm(join(dir, name), { force: true });
  }
}

/**
 * For a unit the agent does not own: writes `dropins` and removes only the
 * unlisted drop-ins that carry the gitfleet marker (ones it wrote earlier);
 * drop-ins a package or an operator put there stay. The directory is removed
 * only when it ends up empty.
 */
export async function syncOwnDropins(dir: string, dropins: Record<string, string>): Promise<void> {
  const kind = await kindOf(dir);
  const wanted = Object.keys(dropins);
  if (kind !== 'dir' && kind !== null) {
    if (wanted.length === 0) return; // nothing of ours can be in a non-directory
    await unlink(dir);
  }
  if (kind !== 'dir') {
    if (wanted.length === 0) return;
    await mkdir(dir, { mode: 0o755 });
  }
  for (const name of wanted) await writeAtomically(dir, name, dropins[name]!);
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.conf') || name in dropins) continue;
    const content = await readRegularFile(join(dir, name));
    if (content?.startsWith(MANAGED_MARKER_PREFIX)) await rm(join(dir, name), { force: true });
  }
  if ((await readdir(dir)).length === 0) await rmdir(dir).catch(() => undefined);
}

export async function removeUnitFiles(unitDir: string, name: string): Promise<void> {
  await rm(join(unitDir, name), { force: true });
  const dropinDir = join(unitDir, `${name}.d`);
  if ((await kindOf(dropinDir)) === 'dir') await rm(dropinDir, { recursive: true, force: true });
  else await rm(dropinDir, { force: true });
}
