// What the one-call container list (GET /containers/json) says in its human
// `Status` text: health, exit code, and how long ago the container started or
// finished (with the engine's rounding). list() uses it to avoid an inspect per
// container per pass: an inspect is only repeated when this text shows that
// something changed since the cached one.

export interface ParsedStatus {
  health: 'starting' | 'healthy' | 'unhealthy' | null;
  exitCode: number | null;
  /** Upper bound of the time since the start ("Up …") or the finish ("Exited (…) … ago"), ms; null when not stated. */
  elapsedUpperMs: number | null;
}

const unitMs: Record<string, number> = {
  second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000, month: 2_678_400_000, year: 31_622_400_000,
};

/** Docker's HumanDuration text → the longest duration it can stand for. */
export function humanDurationUpperMs(text: string): number | null {
  const t = text.trim();
  if (/^Less than a second$/i.test(t)) return 1000;
  if (/^About a minute$/i.test(t)) return 2 * unitMs.minute!;
  if (/^About an hour$/i.test(t)) return 2 * unitMs.hour!;
  const match = /^(\d+) (second|minute|hour|day|week|month|year)s?$/i.exec(t);
  if (!match) return null;
  return (Number(match[1]) + 1) * (unitMs[(match[2] as string).toLowerCase()] as number);
}

export function parseContainerStatus(status: string): ParsedStatus {
  let health: ParsedStatus['health'] = null;
  if (/\(healthy\)/.test(status)) health = 'healthy';
  else if (/\(unhealthy\)/.test(status)) health = 'unhealthy';
  else if (/\(health: starting\)/.test(status)) health = 'starting';
  const withoutHealth = status.replace(/\s*\((healthy|unhealthy|health: starting)\)\s*$/, '');
  const up = /^Up (.+?)( \(Paused\))?$/.exec(withoutHealth);
  if (up) return { health, exitCode: null, elapsedUpperMs: humanDurationUpperMs(up[1] as string) };
  const exited = /^Exited \((-?\d+)\) (.+) ago$/.exec(withoutHealth);
  if (exited) return { health, exitCode: Number(exited[1]), elapsedUpperMs: humanDurationUpperMs(exited[2] as string) };
  return { health, exitCode: null, elapsedUpperMs: null };
}
