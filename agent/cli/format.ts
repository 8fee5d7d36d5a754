// Human output of the agent's commands: short, aligned, one line per change.
import type { FieldDiff, ResourceStatus } from '../../shared/status.ts';
import type { Step } from '../engine/steps.ts';

const useColor = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const paint = (code: number) => (text: string) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);
export const green = paint(32);
export const red = paint(31);
export const yellow = paint(33);
export const dim = paint(2);
export const bold = paint(1);

const syncColor: Record<string, (t: string) => string> = {
  InSync: green,
  Ignored: dim,
  Pending: yellow,
  OutOfSync: yellow,
  Drifted: yellow,
  Missing: yellow,
  Failed: red,
};

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return value.includes('\n') ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/** `field: - live  + desired`; a field only on one side says "added" or "removed" instead of showing null. */
export function formatDiff(d: FieldDiff): string {
  if (d.live === null && d.desired !== null) return `${d.field}: ${green(`+ ${formatValue(d.desired)}`)} ${dim('(added)')}`;
  if (d.desired === null && d.live !== null) return `${d.field}: ${red(`- ${formatValue(d.live)}`)} ${dim('(removed)')}`;
  return `${d.field}: ${red(`- ${formatValue(d.live)}`)}  ${green(`+ ${formatValue(d.desired)}`)}`;
}

export function formatStatuses(statuses: ResourceStatus[]): string[] {
  const width = Math.max(10, ...statuses.map((s) => s.id.length));
  const lines: string[] = [];
  for (const s of statuses) {
    const color = syncColor[s.sync] ?? ((t: string) => t);
    // What adoption did with it (docs/adopt.md) is said on the line: an adopted resource is InSync, its message not shown.
    lines.push(`  ${s.id.padEnd(width)}  ${color(s.sync.padEnd(8))} ${s.health.padEnd(11)} ${dim(s.source ?? '')}${s.adoption ? `  ${dim(`adoption: ${s.adoption}`)}` : ''}`);
    for (const d of s.diff) lines.push(`      ${formatDiff(d)}`);
    if (s.message && s.sync !== 'InSync') lines.push(`      ${dim(s.message)}`);
  }
  return lines;
}

const causeMark: Record<Step['cause'], string> = { intended: '+', drift: '~', prune: '-' };

export function formatSteps(steps: Step[]): string[] {
  return steps.map((s) => `  ${causeMark[s.cause]} ${s.type.padEnd(20)} ${s.resource ?? ''}  ${dim(`(${s.cause}: ${s.reason})`)}`);
}
