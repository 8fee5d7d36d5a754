// The impact as text for a terminal or a PR comment: the summary first (how
// many hosts, where, what per host), then each affected host's resources with
// their field diffs. Every value from the repo goes through terminalText.
import { terminalText } from '../../shared/terminal-text.ts';
import type { Change, FieldChange, Impact, PerHostCount, TagCount } from './types.ts';

const SUMMARY_GROUPS = 8;
const SUMMARY_RESOURCES = 10;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const kindPlural: Record<string, string> = { container: 'containers', unit: 'units', file: 'files', network: 'networks', volume: 'volumes' };
const mark: Record<Change, string> = { added: '+', changed: '~', removed: '-' };

function list(counts: TagCount[], limit: number): string {
  const shown = counts.slice(0, limit).map((c) => `${c.tag === '' ? '(root)' : terminalText(c.tag)} ${c.affected}`);
  if (counts.length > limit) shown.push(`${counts.length - limit} more`);
  return shown.join(', ');
}

/** "3 containers changed", "1–3 files added (on 12 hosts)". */
export function perHostPhrase(c: PerHostCount, affected: number): string {
  const n = c.min === c.max ? `${c.min}` : `${c.min}–${c.max}`;
  const noun = c.max === 1 ? c.kind : kindPlural[c.kind] ?? `${c.kind}s`;
  return `${n} ${noun} ${c.change}${c.hosts < affected ? ` (on ${plural(c.hosts, 'host')})` : ''}`;
}

export function summaryLine(impact: Impact): string {
  if (impact.affected === 0) return `this change affects no host (${plural(impact.total, 'host')} compared)`;
  return `this change affects ${impact.affected} of ${plural(impact.total, 'host')}: ${list(impact.groups, SUMMARY_GROUPS)}`;
}

function value(v: unknown): string {
  return terminalText(typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'null');
}

function fieldLine(f: FieldChange): string {
  const path = terminalText(f.path);
  if (f.from === undefined) return `${path}: + ${value(f.to)}`;
  if (f.to === undefined) return `${path}: - ${value(f.from)}`;
  return `${path}: ${value(f.from)} → ${value(f.to)}`;
}

export function impactText(impact: Impact): string {
  const short = (r: string) => terminalText(r.slice(0, 12));
  const lines = [`${short(impact.from.revision)}..${short(impact.to.revision)}: ${summaryLine(impact)}`];
  if (impact.affected === 0) return lines.join('\n') + '\n';
  lines.push(`per host: ${impact.perHost.map((c) => perHostPhrase(c, impact.affected)).join(', ')}`);
  const added = impact.hosts.filter((h) => h.change === 'added').length;
  const removed = impact.hosts.filter((h) => h.change === 'removed').length;
  if (added + removed > 0) lines.push(`hosts: ${added} added, ${removed} removed`);
  lines.push('', 'resources:');
  for (const r of impact.resources.slice(0, SUMMARY_RESOURCES)) {
    lines.push(`  ${mark[r.change]} ${terminalText(r.id)} ${r.change} on ${plural(r.hosts, 'host')}${r.fields.length > 0 ? `: ${terminalText(r.fields.join(', '))}` : ''}`);
  }
  if (impact.resources.length > SUMMARY_RESOURCES) lines.push(`  … ${impact.resources.length - SUMMARY_RESOURCES} more (gitfleet diff --json lists all)`);
  lines.push('', `tags (affected/hosts): ${impact.tags.map((t) => `${terminalText(t.tag)} ${t.affected}/${t.hosts}`).join(', ')}`);
  lines.push('', 'hosts:');
  for (const h of impact.hosts) {
    lines.push(`  ${mark[h.change]} ${terminalText(h.host)} (${terminalText(h.dir)})${h.change === 'changed' ? '' : ` ${h.change}`}`);
    for (const r of h.resources) {
      lines.push(`      ${mark[r.change]} ${terminalText(r.id)}${r.change === 'changed' ? '' : ` ${r.change}`}${r.secret ? ' (secret: values not shown)' : ''}`);
      for (const f of r.fields ?? []) lines.push(`          ${fieldLine(f)}`);
      if (r.moreFields) lines.push(`          … ${plural(r.moreFields, 'more field')}`);
      if (r.encryptedChanged) lines.push('          its encrypted file changed: the values are not decrypted, so they may differ');
    }
  }
  return lines.join('\n') + '\n';
}
