// `gitfleet rollout list|show|pause|resume|promote|abort`: staged rollouts on a
// hub (docs/rollouts.md). list and show need a viewer token, the actions an
// admin token; each action is recorded in the rollout's history.
import { parseCommandArgs, UsageError } from '../../repo/cli/args.ts';
import { terminalJson } from '../../shared/terminal-text.ts';
import type { RolloutHostView, RolloutView } from '../rollout/coordinator.ts';
import { callHub, field, hubExit, hubOptionHelp, hubOptionSpec, resolveHub } from './hub-api.ts';

export const usage = `usage: gitfleet rollout list [--json] [hub options]
       gitfleet rollout show ID [--hosts] [--json] [hub options]
       gitfleet rollout pause|resume|promote|abort ID [hub options]

Staged rollouts of the fleet repo's commits (a rollout.yaml above the hosts, docs/rollouts.md).

list     every rollout the hub keeps, newest first: state, wave, failures against the budget
show     one rollout: each wave's hosts pending, applying, done and failed, the soak, the budget,
         the history (--hosts: every host with its wave and progress)
pause    open no further wave (hosts already released keep their revision)
resume   go on after a pause, or after a halt (the failures so far are accepted)
promote  open the next wave now: the open wave closes as it stands, soak and window are skipped
abort    stop for good; with onHalt: rollback the updated hosts return to their previous revision
      --json             the hub's answer as JSON
${hubOptionHelp}

exit codes: 0 done (show: the rollout is running, paused or done); 1 the hub refused the action or
knows no such rollout (show: it is halted or aborted); 2 usage error; 3 could not tell (hub unreachable,
token refused)`;

const actions = ['pause', 'resume', 'promote', 'abort'] as const;

function time(iso: string | null): string {
  return iso === null ? '-' : field(iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), 30);
}

function waveLabel(r: RolloutView): string {
  if (r.state === 'done') return 'all done';
  const wave = r.waves[r.current];
  if (!wave) return '-';
  return `${r.current + 1}/${r.waves.length}${wave.openedAt === null ? ' (next)' : ''}`;
}

export function formatList(rollouts: RolloutView[]): string {
  if (rollouts.length === 0) return 'no rollouts (no rollout.yaml in the fleet repo, or no commit since)';
  const rows = rollouts.map((r) => [field(r.id, 80), field(r.state, 12), waveLabel(r), String(r.hostCount), `${r.failed.length}/${r.budget}`, time(r.createdAt), field(r.subject ?? '', 60)]);
  const header = ['ROLLOUT', 'STATE', 'WAVE', 'HOSTS', 'FAILED/BUDGET', 'CREATED', 'SUBJECT'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows].map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

export function formatRollout(r: RolloutView, hosts: RolloutHostView[] | null, now = Date.now()): string {
  const lines = [
    `rollout ${field(r.id, 80)}: ${field(r.state, 12)} — revision ${field(r.revision.slice(0, 12))} ${r.subject ? `"${field(r.subject, 100)}" ` : ''}for the hosts under ${r.scope === '' ? './' : `${field(r.scope, 200)}/`}`,
    `  failure budget: ${r.failed.length} failed of ${r.budget} allowed${r.failed.length > 0 ? ` (${r.failed.slice(0, 10).map((h) => field(h, 100)).join(', ')}${r.failed.length > 10 ? ', …' : ''})` : ''}`,
  ];
  if (r.haltReason) lines.push(`  halted: ${field(r.haltReason, 500)}`);
  if (r.soakUntil && r.state === 'running') lines.push(`  soaking until ${time(r.soakUntil)} (${duration(Date.parse(r.soakUntil) - now)} left)`);
  r.waves.forEach((w, i) => {
    const mark = i === r.current && r.state !== 'done' ? (w.openedAt === null ? ' (next)' : ' (open)') : '';
    const p = w.progress;
    lines.push(`  ${field(w.name, 64)}${mark}: ${w.hosts} host(s) — done ${p.done}, applying ${p.applying}, pending ${p.pending}, failed ${p.failed}; opened ${time(w.openedAt)}, closed ${time(w.closedAt)}`);
  });
  lines.push('  history:');
  for (const h of r.history.slice(-10)) lines.push(`    ${time(h.at)}  ${field(h.by, 40)}  ${field(h.action, 20)}${h.note ? `  ${field(h.note, 300)}` : ''}`);
  if (hosts) {
    lines.push('  hosts:');
    for (const h of hosts) lines.push(`    ${field(h.id, 100)}  ${field(h.wave, 64)}  ${field(h.progress, 10)}${h.counted ? ' (counted failed)' : ''}`);
  }
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('rollout', argv, { ...hubOptionSpec, json: { type: 'boolean' }, hosts: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, 2);
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return hubExit.ok;
  }
  const [action, id] = positionals;
  if (action === undefined) throw new UsageError('rollout', 'an action is needed: list, show ID, pause ID, resume ID, promote ID or abort ID');
  if (action === 'list') {
    if (id !== undefined) throw new UsageError('rollout', 'list takes no ID');
    const target = resolveHub('rollout', values);
    const answer = await callHub<{ rollouts: RolloutView[] }>(target, 'GET', '/api/v1/rollouts');
    process.stdout.write(`${values.json ? terminalJson(answer, 2) : formatList(answer.rollouts)}\n`);
    return hubExit.ok;
  }
  if (action !== 'show' && !(actions as readonly string[]).includes(action)) throw new UsageError('rollout', `unknown action "${action}": one of list, show, ${actions.join(', ')}`);
  if (id === undefined || id === '') throw new UsageError('rollout', `${action} needs the rollout ID (gitfleet rollout list shows them)`);
  const target = resolveHub('rollout', values);
  const path = `/api/v1/rollouts/${encodeURIComponent(id)}`;
  if (action === 'show') {
    const answer = await callHub<{ rollout: RolloutView; hosts: RolloutHostView[] }>(target, 'GET', path);
    process.stdout.write(`${values.json ? terminalJson(answer, 2) : formatRollout(answer.rollout, values.hosts ? answer.hosts : null)}\n`);
    return answer.rollout.state === 'halted' || answer.rollout.state === 'aborted' ? hubExit.failed : hubExit.ok;
  }
  const answer = await callHub<{ rollout: RolloutView }>(target, 'POST', `${path}/${action}`);
  process.stdout.write(`${values.json ? terminalJson(answer, 2) : formatRollout(answer.rollout, null)}\n`);
  return hubExit.ok;
}
