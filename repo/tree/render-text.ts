// The human form of `gitfleet render`: who the host is, where each variable
// and resource came from, and what `absent: true` removed.
import { stringify } from 'yaml';
import type { HostExplanation } from './load.ts';
import { dirLabel } from './tree-fs.ts';

function indent(text: string, by: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

function table(rows: string[][], by: string): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => by + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '));
}

export function renderText(x: HostExplanation): string {
  const s = x.state;
  const lines: string[] = [];
  lines.push(...table([
    ['host', s.host],
    ['place', s.place],
    ['tags', s.tags.length > 0 ? s.tags.join(', ') : '(none)'],
    ['layers', s.layers.map(dirLabel).join(' → ')],
    ['allowEmpty', String(s.allowEmpty)],
    ...(s.adopt ? [['adopt', 'true']] : []),
  ], ''));
  lines.push('', `variables (${x.vars.length})`);
  lines.push(...table(x.vars.map((v) => [v.name, '=', JSON.stringify(v.value), v.from]), '  '));
  lines.push('', `resources (${s.resources.length})`);
  for (const r of s.resources) {
    lines.push(`  ${r.id}    drift: ${r.drift}    from ${r.source.file}:${r.source.line}`);
    lines.push(indent(stringify(r.spec, { lineWidth: 0 }), '      '));
  }
  if (s.resources.length === 0) lines.push('  (none)');
  if (x.removed.length > 0) {
    lines.push('', `removed by absent: true (${x.removed.length})`);
    lines.push(...table(x.removed.map((r) => [r.id, `by ${r.by.file}:${r.by.line}`, `(declared in ${r.declared.file}:${r.declared.line})`]), '  '));
  }
  return lines.join('\n') + '\n';
}
