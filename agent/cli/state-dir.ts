// Makes sure the agent's state directory can be used before anything else
// runs, so a wrong --state-dir is one clear line and exit 2 — not a stack
// trace from deep inside the store, and not a hang: Node's recursive mkdir
// never returns for a path under /proc, so the directory is created one
// level at a time here.
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { GitfleetError } from '../../shared/errors.ts';

function fail(dir: string, why: string, hint: string): never {
  throw new GitfleetError('CONFIG_INVALID', `state directory ${dir} ${why}; ${hint}`);
}

export async function ensureStateDir(stateDir: string, flagGiven: boolean): Promise<void> {
  const dir = resolve(stateDir);
  const hint = flagGiven || process.getuid?.() === 0 ? 'choose another with --state-dir DIR (or stateDir in the config)' : 'run as root, or give a directory you can write with --state-dir DIR';
  const missing: string[] = [];
  let existing = dir;
  for (;;) {
    // ENOTDIR: some ancestor is a file; walking up finds it and names it.
    const info = await stat(existing).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' || error.code === 'ENOTDIR' ? null : error));
    if (info instanceof Error) fail(dir, `cannot be checked (${info.code ?? info.message} at ${existing})`, hint);
    if (info !== null) {
      if (!info.isDirectory()) fail(dir, `cannot be created: ${existing} is not a directory`, hint);
      break;
    }
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  for (const level of missing) {
    await mkdir(level, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') fail(dir, `cannot be created (${error.code ?? error.message} at ${level})`, hint);
    });
  }
  await access(dir, constants.W_OK | constants.X_OK).catch(() => fail(dir, `is not writable by this user (uid ${process.getuid?.() ?? '?'})`, hint));
}
