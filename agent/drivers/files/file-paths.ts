// Which paths a file resource may name: absolute, normalized, and inside one of
// the directories the agent config allows. Checked before anything touches the
// disk, by the real driver and the in-memory one alike.
import { posix } from 'node:path';
import { GitfleetError } from '../../../shared/errors.ts';

function isNormalAbsolute(path: string): boolean {
  return path.startsWith('/') && !path.includes('\0') && posix.normalize(path) === path && (path === '/' || !path.endsWith('/'));
}

/** Validates the agent's allow list once (a config error, not a resource error). */
export function checkAllowList(allow: readonly string[]): string[] {
  if (allow.length === 0) throw new GitfleetError('CONFIG_INVALID', 'files.allow is empty: file resources could not be written anywhere');
  for (const dir of allow) {
    if (!isNormalAbsolute(dir)) throw new GitfleetError('CONFIG_INVALID', `files.allow entry ${JSON.stringify(dir)} is not an absolute normalized directory`);
  }
  return [...allow];
}

/** INVALID_PATH for a relative or unnormalized path, PATH_NOT_ALLOWED outside `allow`. */
export function checkFilePath(path: string, allow: readonly string[]): void {
  if (typeof path !== 'string' || path === '' || !isNormalAbsolute(path) || path === '/') {
    throw new GitfleetError('INVALID_PATH', `file path ${JSON.stringify(path)} must be absolute and normalized (no "..", ".", "//" or trailing "/")`);
  }
  const inside = allow.some((dir) => (dir === '/' ? true : path.startsWith(`${dir}/`)));
  if (!inside) {
    throw new GitfleetError('PATH_NOT_ALLOWED', `file path ${path} is outside the directories the agent may write (${allow.join(', ')})`);
  }
}

/** `/etc/a/b.conf` → ['etc', 'a', 'b.conf']. */
export function pathComponents(path: string): string[] {
  return path.split('/').filter(Boolean);
}
