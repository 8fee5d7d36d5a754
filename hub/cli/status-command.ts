// `gitfleet status [HOST] [--json]`: the fleet summary from a hub, or one
// host in detail, for a terminal or a script. Exit 0 when every host (or the
// host) is in sync, online and healthy, 1 when not, 2 on usage errors, 3 when
// the hub could not tell (unreachable, token refused, hub error). Everything
// the hub sends is printed through terminalText/terminalJson: host ids, tags,
// revisions and messages are written by agents and repo authors, not by us.
import { parseCommandArgs, UsageError } from '../../repo/cli/args.ts';
import { terminalJson } from '../../shared/terminal-text.ts';
import type { FleetSummary, HostSummary } from '../fleet/fleet-index.ts';
import type { Attempt, HostStatus } from '../../shared/status.ts';
import type { PolicyHold, RolloutHold } from '../rollout/host-hold.ts';
import { callHub, field, hubExit, hubOptionHelp, hubOptionSpec, isHubError, resolveHub, type HubTarget } from './hub-api.ts';

export const usage = `usage: gitfleet status [HOST] [--json] [hub options]

Without HOST: the fleet summary (hosts, head, sync and connectivity counts, tags)
and the hosts that need attention with their Ready message.
With HOST (or --host HOST): the host's conditions, its last attempts, every
resource not in sync or not healthy with why (exit code or signal, last
journal/log lines), the resources adoption took over (Adopted, Replace,
Rewrite), and the rollout that holds the host (its wave, what it released).

      --json             print the hub's answer as JSON
${hubOptionHelp}

exit codes: 0 all hosts (or the host) in sync, online and healthy; 1 some are not (the fleet is
unhealthy) or the hub knows no such host; 2 usage error; 3 could not tell (hub unreachable,
token refused, hub error)`;

export function formatSummary(s: FleetSummary): string {
  const nonZero = (counts: Record<string, number>) =>
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${field(k, 40)} ${Number(n)}`)
      .join(', ') || 'none';
  const head = s.head;
  const lines = [
    `hosts: ${Number(s.total)}`,
    `head: ${head ? `${field(head.revision.slice(0, 12))}${head.subject ? ` ${field(head.subject)}` : ''}${head.issues.length > 0 ? ` (${head.issues.length} validation issue(s))` : ''}` : 'unknown (no repo configured or not read yet)'}`,
    `sync: ${nonZero(s.sync)}`,
    `connectivity: ${nonZero(s.connectivity)}`,
    `behind head: ${Number(s.behind)}   without a directory: ${Number(s.undeclared)}`,
  ];
  const top = s.tags.filter((t) => !t.tag.includes('/')).map((t) => ({ tag: field(t.tag, 80), total: Number(t.total), worst: field(t.worst ?? '-', 20) }));
  if (top.length > 0) {
    const width = Math.max(...top.map((t) => t.tag.length), 3);
    lines.push('', `${'tag'.padEnd(width)}  hosts  worst`);
    for (const t of top) lines.push(`${t.tag.padEnd(width)}  ${String(t.total).padStart(5)}  ${t.worst}`);
  }
  return lines.join('\n');
}

/** A host that needs attention, with the message of its Ready condition when it has one. */
export interface AttentionHost {
  summary: HostSummary;
  ready: { status: boolean; reason: string; message: string } | null;
}

export function formatAttention(hosts: AttentionHost[], total: number): string {
  const lines = ['', `needs attention (${hosts.length} of ${total}):`];
  for (const { summary: h, ready } of hosts) {
    const revision = h.lastAppliedRevision ? `applied ${field(h.lastAppliedRevision.slice(0, 12))}` : 'nothing applied';
    lines.push(`  ${field(h.id, 100)}  ${field(h.sync, 20)}  ${field(h.connectivity, 20)}  ${revision}`);
    if (ready && !ready.status) lines.push(`      Ready=false ${field(ready.reason, 100)}: ${field(ready.message, 300)}`);
  }
  return lines.join('\n');
}

/** The host page of a terminal: conditions, then every resource that is not in sync or not healthy, with its diagnosis. */
export function formatHostDetail(d: HostDetailView): string {
  const h = d.summary;
  const lines = [
    `host: ${field(h.id, 253)}`,
    `sync: ${field(h.sync, 20)}   connectivity: ${field(h.connectivity, 20)}   applied: ${h.lastAppliedRevision ? field(h.lastAppliedRevision.slice(0, 12)) : 'nothing'}`,
  ];
  if (d.rollout) lines.push(formatRolloutHold(d.rollout));
  if (d.rolloutPolicyInvalid) lines.push(formatPolicyHold(d.rolloutPolicyInvalid));
  for (const c of d.status?.conditions ?? []) lines.push(`${field(c.type, 20)}=${c.status ? 'true' : 'false'} ${field(c.reason, 100)}: ${field(c.message, 500)}`);
  const resources = (d.status?.resources ?? []).filter((r) => r.sync !== 'Ignored' && (r.sync !== 'InSync' || r.health !== 'Healthy'));
  lines.push('', resources.length === 0 ? 'every resource in sync and healthy' : `resources needing attention (${resources.length}):`);
  for (const r of resources) {
    lines.push(`  ${field(r.id, 300)}  ${field(r.sync, 20)}  ${field(r.health, 20)}${r.adoption ? `  adoption ${field(r.adoption, 32)}` : ''}${r.message ? `  ${field(r.message, 500)}` : ''}`);
    const ended = [typeof r.exitCode === 'number' ? `exit code ${Number(r.exitCode)}` : '', r.signal ? `killed by ${field(r.signal, 32)}` : ''].filter(Boolean).join(', ');
    if (ended) lines.push(`      last run: ${ended}`);
    // Each log line through field(): a line cannot fake further lines or carry escapes.
    for (const line of (r.logs ?? []).slice(-20)) lines.push(`      | ${field(line, 4096)}`);
  }
  // Adopted resources are usually in sync and so not listed above; say which ones adoption took over and how.
  const adopted = (d.status?.resources ?? []).filter((r) => r.adoption);
  if (adopted.length > 0) {
    lines.push('', `adopted resources (${adopted.length}):`);
    for (const r of adopted.slice(0, adoptedShown)) lines.push(`  ${field(r.id, 300)}  ${field(r.adoption, 32)}`);
    if (adopted.length > adoptedShown) lines.push(`  … and ${adopted.length - adoptedShown} more (--json lists them all)`);
  }
  const refused = d.status?.refused;
  if (refused) lines.push('', `refused head ${field((refused.revision ?? 'unknown').slice(0, 12))} since ${field(refused.since, 40)}: ${field(refused.reason, 100)}: ${field(refused.message, 500)}`);
  const attempts = (d.attempts ?? d.status?.attempts ?? []).slice(0, 5);
  if (attempts.length > 0) {
    lines.push('', 'last attempts (newest first):');
    for (const a of attempts) {
      const counts = `${a.intended.length} change(s), ${a.driftCorrected.length} drift correction(s)`;
      const why = a.reason ? `  ${field(a.reason, 100)}${a.message ? `: ${field(a.message, 300)}` : ''}` : '';
      lines.push(`  ${field(a.startedAt, 40)}  ${field(a.result, 20)}  ${field(a.revision.slice(0, 12))}  ${field(a.trigger, 20)}  ${counts}${why}`);
    }
  }
  return lines.join('\n');
}

const adoptedShown = 20;

/** "held by rollout ID (wave N of M, released REV)": why a host waiting for its wave is behind the head. */
export function formatRolloutHold(r: RolloutHold): string {
  const released = r.released ? field(r.released.slice(0, 12)) : 'unknown';
  const name = r.wave === `wave ${r.waveNumber}` ? '' : ` "${field(r.wave, 100)}"`;
  const where = `wave ${Number(r.waveNumber)} of ${Number(r.waves)}${name}, released ${released}`;
  return `${r.held ? 'held by' : 'released by'} rollout ${field(r.id, 200)} (${where}; rollout ${field(r.state, 20)})`;
}

/** "held: prod/rollout.yaml is invalid at the head; kept at REV until it is fixed". */
export function formatPolicyHold(p: PolicyHold): string {
  return `held: ${field(p.file, 300)} is invalid at the head; kept at ${p.released ? field(p.released.slice(0, 12)) : 'what it runs'} until it is fixed`;
}

export interface HostDetailView {
  summary: HostSummary;
  status: (Pick<HostStatus, 'conditions' | 'resources'> & Partial<Pick<HostStatus, 'attempts' | 'refused'>>) | null;
  /** The hub's stored history, newest first (the status carries the agent's own few). */
  attempts?: Attempt[];
  /** The active rollout that decides what the host may run (absent from an older hub). */
  rollout?: RolloutHold | null;
  /** An invalid rollout.yaml above the host holds it where it is (absent from an older hub). */
  rolloutPolicyInvalid?: PolicyHold | null;
}

const attentionStates = 'Failed,Drifted,Missing,OutOfSync,Pending,Unknown,Offline,NeverSeen';
const attentionShown = 10;

/** The first hosts that are not in sync or not online, worst first, each with its Ready condition. */
async function attention(target: HubTarget): Promise<{ hosts: AttentionHost[]; total: number }> {
  const list = await callHub<{ total: number; hosts: HostSummary[] }>(target, 'GET', `/api/v1/hosts?state=${attentionStates}&sort=sync&limit=${attentionShown}`);
  const hosts = await Promise.all(
    list.hosts.map(async (summary) => {
      const detail = await callHub<{ status: { conditions: Array<{ type: string; status: boolean; reason: string; message: string }> } | null }>(
        target,
        'GET',
        `/api/v1/hosts/${encodeURIComponent(summary.id)}`,
      ).catch(() => null);
      const ready = detail?.status?.conditions.find((c) => c.type === 'Ready') ?? null;
      return { summary, ready };
    }),
  );
  return { hosts, total: list.total };
}

export function fleetHealthy(summary: FleetSummary): boolean {
  return summary.total === (summary.sync.InSync ?? 0) + (summary.sync.Ignored ?? 0) && (summary.connectivity.Offline ?? 0) === 0 && (summary.connectivity.NeverSeen ?? 0) === 0;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('status', argv, { ...hubOptionSpec, host: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, 1);
  if (values.help) {
    process.stdout.write(usage + '\n');
    return hubExit.ok;
  }
  if (values.host !== undefined && positionals.length > 0) throw new UsageError('status', 'HOST and --host are the same thing; give one');
  const host = values.host ?? positionals[0];
  if (host !== undefined && (host === '' || host.length > 253)) throw new UsageError('status', 'HOST: a host id (1–253 characters)');
  const target = resolveHub('status', values);
  if (host !== undefined) return hostDetail(target, host, values.json ?? false);
  const summary = await callHub<FleetSummary>(target, 'GET', '/api/v1/summary');
  const healthy = fleetHealthy(summary);
  if (values.json) {
    process.stdout.write(terminalJson(summary, 2) + '\n');
    return healthy ? hubExit.ok : hubExit.failed;
  }
  let text = formatSummary(summary);
  if (!healthy) {
    try {
      const { hosts, total } = await attention(target);
      if (hosts.length > 0) text += '\n' + formatAttention(hosts, total);
    } catch (error) {
      text += `\n\n(cannot list the hosts that need attention: ${field(isHubError(error) ? error.message : String(error))})`;
    }
  }
  process.stdout.write(text + '\n');
  return healthy ? hubExit.ok : hubExit.failed;
}

export function hostFine(detail: HostDetailView): boolean {
  return detail.summary.sync === 'InSync' && detail.summary.connectivity === 'Online' && (detail.status?.resources ?? []).every((r) => r.health === 'Healthy' || r.sync === 'Ignored');
}

async function hostDetail(target: HubTarget, id: string, json: boolean): Promise<number> {
  const detail = await callHub<HostDetailView>(target, 'GET', `/api/v1/hosts/${encodeURIComponent(id)}`).catch((error: unknown) => {
    if (isHubError(error) && error.status === 404) throw Object.assign(error, { message: `the hub knows no host ${field(id, 253)}` });
    throw error;
  });
  process.stdout.write((json ? terminalJson(detail, 2) : formatHostDetail(detail)) + '\n');
  return hostFine(detail) ? hubExit.ok : hubExit.failed;
}
