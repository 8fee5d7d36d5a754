// Owner and group names are the HOST's, read from /etc/passwd and /etc/group
// under the driver's root directory: in tests that root is a booted host's
// (/proc/PID/root), whose accounts differ from the machine running the test.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GitfleetError } from '../../../shared/errors.ts';

export interface AccountDb {
  uidOf(user: string): number | undefined;
  gidOf(group: string): number | undefined;
  userName(uid: number): string;
  groupName(gid: number): string;
}

function parseColonFile(text: string): { name: string; id: number }[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(':'))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[2]!))
    .map((f) => ({ name: f[0]!, id: Number(f[2]) }));
}

/** The account files as last read, with what their stat said then. */
const lastRead = new Map<string, { identity: string; entries: { name: string; id: number }[] }>();

/**
 * The file's entries; read again only when its stat differs from the last
 * read (inode, size, modification and change time in ns): a package install
 * that adds a user is seen at the next pass, and an idle pass costs one stat
 * per file instead of a read and a parse.
 */
async function entriesOf(path: string): Promise<{ name: string; id: number }[]> {
  try {
    const s = await stat(path, { bigint: true });
    const identity = `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    const cached = lastRead.get(path);
    if (cached?.identity === identity) return cached.entries;
    const entries = parseColonFile(await readFile(path, 'utf8'));
    lastRead.set(path, { identity, entries });
    return entries;
  } catch (error) {
    lastRead.delete(path);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new GitfleetError('FILE_FAILED', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Fresh on every call: a package install may add a user between passes. */
export async function readAccounts(rootDir: string): Promise<AccountDb> {
  const [users, groups] = await Promise.all([entriesOf(join(rootDir, 'etc/passwd')), entriesOf(join(rootDir, 'etc/group'))]);
  return accountDb(users, groups);
}

export function accountDb(users: { name: string; id: number }[], groups: { name: string; id: number }[]): AccountDb {
  const uid = new Map(users.map((u) => [u.name, u.id]));
  const gid = new Map(groups.map((g) => [g.name, g.id]));
  const uname = new Map([...users].reverse().map((u) => [u.id, u.name]));
  const gname = new Map([...groups].reverse().map((g) => [g.id, g.name]));
  return {
    uidOf: (user) => (/^\d+$/.test(user) ? Number(user) : uid.get(user)),
    gidOf: (group) => (/^\d+$/.test(group) ? Number(group) : gid.get(group)),
    // An id without a name shows as the number, as ls does.
    userName: (id) => uname.get(id) ?? String(id),
    groupName: (id) => gname.get(id) ?? String(id),
  };
}
