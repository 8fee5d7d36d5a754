// Modes travel as octal strings ("0644"); the spec may omit the leading zero.
import { GitfleetError } from '../../../shared/errors.ts';

export const DEFAULT_FILE_MODE = 0o644;
export const DEFAULT_DIR_MODE = 0o755;

export function parseMode(mode: string): number {
  if (!/^0?[0-7]{3,4}$/.test(mode)) throw new GitfleetError('INVALID_VALUE', `mode ${JSON.stringify(mode)} is not an octal mode like "0644"`);
  return Number.parseInt(mode, 8);
}

export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
