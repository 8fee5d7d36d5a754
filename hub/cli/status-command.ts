// `gitfleet status [--hub URL] [--token T] [--json]`: the fleet summary from
// a hub, for a terminal or a script, and the hosts that need attention with
// their Ready message. Exit 0 when every host is in sync and online, 1 when
// not (or the hub cannot be reached), 2 on usage errors. Everything the hub
// sends is printed through terminalText/terminalJson: host ids, tags,
// revisions and messages are written by agents and repo authors, not by us.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { terminalJson, terminalText } from '../../shared/terminal-text.ts';
import type { FleetSummary, HostSummary } from '../fleet/fleet-index.ts';
import type { HostStatus } from '../../shared/status.ts';

const usage = `usage: gitfleet status [--hub URL] [--token TOKEN | --token-file FILE] [--host ID] [--json]

  --hub URL         the hub's API address (default $GITFLEET_HUB_URL or http://127.0.0.1:8080)
  --token TOKEN     an admin or viewer token (default $GITFLEET_HUB_TOKEN)
  --token-file FILE read the token from FILE
  --host ID         one host in detail: its conditions, and every resource not in sync or not
                    healthy with why (exit code or signal, last journal/log lines)
  --json            print the summary as JSON

exit codes: 0 all hosts (or the host) in sync and online, 1 some are not or the hub failed, 2 usage error`;

function fail(message: string, code: number): number {
  process.stderr.write(`gitfleet status: ${message}\n`);
  return code;
}

/** One remote field on one line: unsafe characters escaped (a newline too), cut to `max`. */
function field(value: unknown, max = 200): string {
  const text = terminalText(String(value ?? ''));
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

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
  for (const c of d.status?.conditions ?? []) lines.push(`${field(c.type, 20)}=${c.status ? 'true' : 'false'} ${field(c.reason, 100)}: ${field(c.message, 500)}`);
  const resources = (d.status?.resources ?? []).filter((r) => r.sync !== 'Ignored' && (r.sync !== 'InSync' || r.health !== 'Healthy'));
  lines.push('', resources.length === 0 ? 'every resource in sync and healthy' : `resources needing attention (${resources.length}):`);
  for (const r of resources) {
    lines.push(`  ${field(r.id, 300)}  ${field(r.sync, 20)}  ${field(r.health, 20)}${r.message ? `  ${field(r.message, 500)}` : ''}`);
    const ended = [typeof r.exitCode === 'number' ? `exit code ${Number(r.exitCode)}` : '', r.signal ? `killed by ${field(r.signal, 32)}` : ''].filter(Boolean).join(', ');
    if (ended) lines.push(`      last run: ${ended}`);
    // Each log line through field(): a line cannot fake further lines or carry escapes.
    for (const line of (r.logs ?? []).slice(-20)) lines.push(`      | ${field(line, 4096)}`);
  }
  return lines.join('\n');
}

export interface HostDetailView {
  summary: HostSummary;
  status: Pick<HostStatus, 'conditions' | 'resources'> | null;
}

const attentionStates = 'Failed,Drifted,Missing,Pending,Unknown,Offline,NeverSeen';
const attentionShown = 10;

async function getJson<T>(url: URL, token: string): Promise<T> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) });
  if (!response.ok) throw new Error(`the hub answered ${response.status} for ${url.pathname}`);
  return (await response.json()) as T;
}

/** The first hosts that are not in sync or not online, worst first, each with its Ready condition. */
async function attention(base: string, token: string): Promise<{ hosts: AttentionHost[]; total: number }> {
  const list = await getJson<{ total: number; hosts: HostSummary[] }>(new URL(`${base}/api/v1/hosts?state=${attentionStates}&sort=sync&limit=${attentionShown}`), token);
  const hosts = await Promise.all(
    list.hosts.map(async (summary) => {
      const detail = await getJson<{ status: { conditions: Array<{ type: string; status: boolean; reason: string; message: string }> } | null }>(
        new URL(`${base}/api/v1/hosts/${encodeURIComponent(summary.id)}`),
        token,
      ).catch(() => null);
      const ready = detail?.status?.conditions.find((c) => c.type === 'Ready') ?? null;
      return { summary, ready };
    }),
  );
  return { hosts, total: list.total };
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { hub: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, host: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    return fail(`${(error as Error).message}\n${usage}`, 2);
  }
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const base = (values.hub ?? process.env.GITFLEET_HUB_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(`${base}/api/v1/summary`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    return fail(`--hub: not an http(s) URL: ${base}`, 2);
  }
  let token = values.token ?? process.env.GITFLEET_HUB_TOKEN;
  if (values['token-file']) {
    try {
      token = readFileSync(values['token-file'], 'utf8').trim();
    } catch (error) {
      return fail(`--token-file: ${(error as Error).message}`, 2);
    }
  }
  if (!token) return fail('a token is needed: --token, --token-file or GITFLEET_HUB_TOKEN', 2);
  if (values.host !== undefined) return hostDetail(base, token, values.host, values.json ?? false);
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    return fail(`cannot reach the hub at ${base}: ${(error as Error).message}`, 1);
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    return fail(`the hub answered ${response.status}: ${field(body?.error?.message ?? response.statusText, 500)}`, 1);
  }
  const summary = (await response.json()) as FleetSummary;
  const healthy = summary.total === (summary.sync.InSync ?? 0) + (summary.sync.Ignored ?? 0) && summary.connectivity.Offline === 0 && summary.connectivity.NeverSeen === 0;
  if (values.json) {
    process.stdout.write(terminalJson(summary, 2) + '\n');
    return healthy ? 0 : 1;
  }
  let text = formatSummary(summary);
  if (!healthy) {
    try {
      const { hosts, total } = await attention(base, token);
      if (hosts.length > 0) text += '\n' + formatAttention(hosts, total);
    } catch (error) {
      text += `\n\n(cannot list the hosts that need attention: ${field((error as Error).message)})`;
    }
  }
  process.stdout.write(text + '\n');
  return healthy ? 0 : 1;
}

async function hostDetail(base: string, token: string, id: string, json: boolean): Promise<number> {
  if (id === '' || id.length > 253) return fail('--host: a host id', 2);
  let response: Response;
  try {
    response = await fetch(new URL(`${base}/api/v1/hosts/${encodeURIComponent(id)}`), { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    return fail(`cannot reach the hub at ${base}: ${(error as Error).message}`, 1);
  }
  if (response.status === 404) return fail(`the hub knows no host ${field(id, 253)}`, 1);
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    return fail(`the hub answered ${response.status}: ${field(body?.error?.message ?? response.statusText, 500)}`, 1);
  }
  const detail = (await response.json()) as HostDetailView;
  const fine = detail.summary.sync === 'InSync' && detail.summary.connectivity === 'Online' && (detail.status?.resources ?? []).every((r) => r.health === 'Healthy' || r.sync === 'Ignored');
  process.stdout.write((json ? terminalJson(detail, 2) : formatHostDetail(detail)) + '\n');
  return fine ? 0 : 1;
}
