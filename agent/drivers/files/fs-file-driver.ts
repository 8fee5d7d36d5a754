// The real FileDriver: plain filesystem calls under `rootDir` ('/' when the agent
// runs on the host, a booted test host's /proc/PID/root in tests). Writes are
// atomic (temp file in the same directory, fsync, rename, fsync the directory),
// paths are confined to the allow list and never followed through a symlink.
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { GitfleetError, isGitfleetError } from '../../../shared/errors.ts';
import type { FileSpec } from '../../../shared/resources.ts';
import type { FileDriver, LiveFile } from '../types.ts';
import { checkAllowList, checkFilePath } from './file-paths.ts';
import { DEFAULT_FILE_MODE, formatMode, parseMode } from './file-modes.ts';
import { readAccounts, type AccountDb } from './host-accounts.ts';
import { walkPath } from './safe-walk.ts';

export interface FsFileDriverOptions {
  /** '/' in production. */
  rootDir: string;
  /** Directories file resources may be written under (agent config `files.allow`). */
  allow: string[];
}

function failed(action: string, path: string, error: unknown): GitfleetError {
  if (isGitfleetError(error)) return error;
  return new GitfleetError('FILE_FAILED', `cannot ${action} ${path}: ${(error as Error).message}`, { cause: error });
}

/** uid/gid for the spec's owner and group; -1 (keep) when the spec names none. */
function resolveIds(path: string, spec: FileSpec, accounts: AccountDb): { uid: number; gid: number } {
  let uid = -1;
  let gid = -1;
  if (spec.owner !== undefined) {
    const id = accounts.uidOf(spec.owner);
    if (id === undefined) throw new GitfleetError('FILE_FAILED', `owner ${JSON.stringify(spec.owner)} of ${path} does not exist on this host`);
    uid = id;
  }
  if (spec.group !== undefined) {
    const id = accounts.gidOf(spec.group);
    if (id === undefined) throw new GitfleetError('FILE_FAILED', `group ${JSON.stringify(spec.group)} of ${path} does not exist on this host`);
    gid = id;
  }
  return { uid, gid };
}

async function applyAttributes(handle: FileHandle, mode: number | null, uid: number, gid: number): Promise<void> {
  if (uid !== -1 || gid !== -1) await handle.chown(uid, gid);
  // After chown: changing the owner clears setuid/setgid bits.
  if (mode !== null) await handle.chmod(mode);
}

export function createFsFileDriver(options: FsFileDriverOptions): FileDriver {
  const rootDir = options.rootDir;
  const allow = checkAllowList(options.allow);
  const onDisk = (path: string) => join(rootDir, path);

  async function observeOne(path: string, accounts: AccountDb): Promise<LiveFile> {
    checkFilePath(path, allow);
    const walked = await walkPath(rootDir, path, { create: false });
    const absent: LiveFile = { path, exists: false, content: null, mode: null, owner: null, group: null };
    if (!walked.target) return absent;
    let handle: FileHandle;
    try {
      handle = await open(onDisk(path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return absent;
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new GitfleetError('UNSAFE_PATH', `refusing ${path}: it is a symlink on the host`);
      throw failed('read', path, error);
    }
    try {
      // Content and attributes from the same open file: consistent even if it is replaced meanwhile.
      const st = await handle.stat();
      const content = await handle.readFile('utf8');
      return { path, exists: true, content, mode: formatMode(st.mode), owner: accounts.userName(st.uid), group: accounts.groupName(st.gid), uid: st.uid, gid: st.gid };
    } catch (error) {
      throw failed('read', path, error);
    } finally {
      await handle.close();
    }
  }

  return {
    async observe(paths) {
      const accounts = await readAccounts(rootDir);
      const live: LiveFile[] = [];
      for (const path of paths) live.push(await observeOne(path, accounts));
      return live;
    },

    async write(path, spec) {
      checkFilePath(path, allow);
      const mode = spec.mode === undefined ? null : parseMode(spec.mode);
      const { uid, gid } = resolveIds(path, spec, await readAccounts(rootDir));
      const { target } = await walkPath(rootDir, path, { create: true });
      // Unnamed attributes are not managed: an existing file keeps its own.
      const finalMode = mode ?? (target ? target.mode & 0o7777 : DEFAULT_FILE_MODE);
      const dir = dirname(onDisk(path));
      const tmp = join(dir, `.${basename(path)}.gitfleet-${randomBytes(6).toString('hex')}.tmp`);
      let created = false;
      try {
        const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        created = true;
        try {
          await handle.writeFile(spec.content, 'utf8');
          await applyAttributes(handle, finalMode, uid === -1 && target ? target.uid : uid, gid === -1 && target ? target.gid : gid);
          await handle.sync();
        } finally {
          await handle.close();
        }
        // Check the path again right before the rename: narrows the window in
        // which a directory could be swapped for a symlink.
        await walkPath(rootDir, path, { create: false });
        await rename(tmp, onDisk(path));
        created = false;
        const dirHandle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
        try {
          await dirHandle.sync();
        } finally {
          await dirHandle.close();
        }
      } catch (error) {
        if (created) await unlink(tmp).catch(() => undefined);
        throw failed('write', path, error);
      }
    },

    async setAttributes(path, spec) {
      checkFilePath(path, allow);
      const mode = spec.mode === undefined ? null : parseMode(spec.mode);
      const { uid, gid } = resolveIds(path, spec, await readAccounts(rootDir));
      const { target } = await walkPath(rootDir, path, { create: false });
      if (!target) throw new GitfleetError('FILE_FAILED', `cannot set attributes of ${path}: it does not exist`);
      try {
        const handle = await open(onDisk(path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        try {
          await applyAttributes(handle, mode, uid, gid);
        } finally {
          await handle.close();
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new GitfleetError('UNSAFE_PATH', `refusing ${path}: it is a symlink on the host`);
        throw failed('set attributes of', path, error);
      }
    },

    async remove(path) {
      checkFilePath(path, allow);
      const { target } = await walkPath(rootDir, path, { create: false });
      if (!target) return;
      try {
        await unlink(onDisk(path));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw failed('remove', path, error);
      }
    },
  };
}
