// The files named on `gitfleet adopt --files`: content, mode, owner and group
// (names from the host's own /etc/passwd and /etc/group, the id when it has
// none), as file resources. Only regular text files: the agent never writes
// through a symlink, and a layer holds text.
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { filePathProblem } from '../../shared/resources.ts';

export interface AdoptedFile {
  content: string;
  mode: string;
  owner: string;
  group: string;
}

/** A layer file is at most 1 MiB (repo/tree): a file this large would not fit beside its keys. */
export const MAX_ADOPTED_FILE_BYTES = 512 * 1024;

async function idNames(path: string): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  const text = await readFile(path, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id !== undefined && /^\d+$/.test(id) && !names.has(Number(id))) names.set(Number(id), name);
  }
  return names;
}

export async function inspectFiles(root: string, paths: string[]): Promise<{ files: Record<string, AdoptedFile>; notes: string[] }> {
  const users = await idNames(join(root, 'etc/passwd'));
  const groups = await idNames(join(root, 'etc/group'));
  const files: Record<string, AdoptedFile> = {};
  const notes: string[] = [];
  for (const path of paths) {
    const problem = filePathProblem(path);
    if (problem !== null) {
      notes.push(`--files ${path}: ${problem}; left out`);
      continue;
    }
    const full = join(root, path);
    const st = await lstat(full).catch((error: NodeJS.ErrnoException) => error);
    if (st instanceof Error) {
      notes.push(`--files ${path}: cannot read it (${st.code ?? st.message}); left out`);
      continue;
    }
    if (!st.isFile()) {
      notes.push(`--files ${path}: not a regular file (${st.isSymbolicLink() ? 'a symlink: name the file it points to' : 'a directory or device'}); left out`);
      continue;
    }
    if (st.size > MAX_ADOPTED_FILE_BYTES) {
      notes.push(`--files ${path}: ${st.size} bytes, more than ${MAX_ADOPTED_FILE_BYTES}; left out`);
      continue;
    }
    const bytes = await readFile(full);
    const content = bytes.toString('utf8');
    if (bytes.includes(0) || !Buffer.from(content, 'utf8').equals(bytes)) {
      notes.push(`--files ${path}: binary content (not UTF-8 text); left out`);
      continue;
    }
    files[path] = {
      content,
      mode: `0${(st.mode & 0o7777).toString(8).padStart(3, '0')}`,
      owner: users.get(st.uid) ?? String(st.uid),
      group: groups.get(st.gid) ?? String(st.gid),
    };
  }
  return { files, notes };
}
