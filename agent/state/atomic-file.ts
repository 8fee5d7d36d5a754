// Crash-safe persistence: write a temp file in the same directory, fsync it,
// rename it over the old one, then fsync the directory so the rename itself
// survives a power cut. A reader sees the old or the new file, never half; a
// write that fails (a full disk) leaves the old file as it was and no temp file.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    // On ENOSPC the partial temp file would hold on to the last free blocks.
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dir);
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export type JsonRead = { state: 'missing' } | { state: 'ok'; value: unknown } | { state: 'unreadable'; reason: string };

/** Reads and parses a JSON file; a truncated, empty or garbled file is `unreadable`, not an exception. */
export async function readJsonFile(path: string): Promise<JsonRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'missing' };
    return { state: 'unreadable', reason: `cannot read it (${code ?? (error as Error).message})` };
  }
  try {
    return { state: 'ok', value: JSON.parse(text) as unknown };
  } catch (error) {
    return { state: 'unreadable', reason: `${text.length} bytes, not valid JSON (${(error as Error).message})` };
  }
}
