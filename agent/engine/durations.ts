// Compose-style durations and sizes as numbers.
import type { Duration } from '../../shared/resources.ts';

const unitSeconds: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

export function durationSeconds(value: Duration): number {
  if (typeof value === 'number') return value;
  let total = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * unitSeconds[m[2]!]!;
  return total;
}
