// Compose-style quantities (durations, byte sizes, CPU counts) converted to the
// integers the Engine API wants. Pure, so the memory driver and the real one
// reject the same bad values with the same error.
import { GitfleetError } from '../../../shared/errors.ts';

const durationUnitsNs: Record<string, number> = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** `10s`, `1m30s`, `500ms`, `2h`, or a number of seconds → nanoseconds. */
export function durationToNs(value: string | number, key: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw invalid(key, value, 'a non-negative number of seconds');
    return Math.round(value * 1e9);
  }
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value)) throw invalid(key, value, 'a duration like 10s, 1m30s or 500ms');
  let total = 0;
  for (const match of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * (durationUnitsNs[match[2] as string] as number);
  }
  return Math.round(total);
}

/**
 * Whole seconds for StopTimeout, rounded up: the engine only takes integers,
 * and rounding down would shorten the grace period the user asked for.
 */
export function durationToWholeSeconds(value: string | number, key: string): number {
  return Math.ceil(durationToNs(value, key) / 1e9);
}

const byteUnits: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `512m`, `1g`, `1.5g`, `1048576` → bytes (1024-based, as Compose and the docker CLI count). */
export function byteSizeToBytes(value: string | number, key: string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value <= 0) throw invalid(key, value, 'a positive number of bytes');
    return value;
  }
  const match = /^(\d+(?:\.\d+)?)([bkmg]?)b?$/i.exec(value);
  if (!match) throw invalid(key, value, 'a size like 512m or 1g');
  const bytes = Math.floor(Number(match[1]) * (byteUnits[(match[2] as string).toLowerCase()] as number));
  if (bytes <= 0) throw invalid(key, value, 'a size above zero');
  return bytes;
}

/** `1.5` or `"0.5"` CPUs → NanoCpus. */
export function cpusToNano(value: string | number, key: string): number {
  const cpus = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(cpus) || cpus <= 0) throw invalid(key, value, 'a positive number of CPUs');
  return Math.round(cpus * 1e9);
}

export function invalid(key: string, value: unknown, expected: string): GitfleetError {
  return new GitfleetError('INVALID_VALUE', `${key}: ${JSON.stringify(value)} is not ${expected}`);
}
