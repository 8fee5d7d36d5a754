// The host's own hub credential, issued at enrollment: kept in the state
// directory, readable by the agent's user only (0600), never logged.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic-file.ts';

export const CREDENTIAL_FILE = 'hub-credential';

export async function readCredential(stateDir: string): Promise<string | null> {
  try {
    const text = (await readFile(join(stateDir, CREDENTIAL_FILE), 'utf8')).trim();
    return text === '' ? null : text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export function writeCredential(stateDir: string, credential: string): Promise<void> {
  return writeFileAtomic(join(stateDir, CREDENTIAL_FILE), credential + '\n', 0o600);
}
