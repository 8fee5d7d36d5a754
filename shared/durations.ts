// Durations as the configuration and the fleet repository write them: `500ms`,
// `10s`, `1m30s`, `2h`, or a bare number of seconds (Compose style). One parser
// for the agent, the hub and the planner, so `1m30s` means the same everywhere.

/** The text form: one or more number+unit pairs. */
export const durationPattern = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration; a number is seconds. Text that is not a duration counts as 0 (validate with durationPattern first). */
export function durationMs(value: string | number): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  let total = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * unitMs[m[2]!]!;
  return Math.round(total);
}

/** Seconds of a duration (fractions kept); a number is already seconds. */
export function durationSeconds(value: string | number): number {
  if (typeof value === 'number') return value;
  return durationMs(value) / 1000;
}
