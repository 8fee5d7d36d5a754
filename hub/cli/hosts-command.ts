// `gitfleet hosts [--tag T] [--state S] [--json]`: the fleet's hosts from a
// hub, one line each, worst first. Exit 0 when every listed host is in sync
// and online, 1 when some is not, 3 when the hub could not tell.
import { parseCommandArgs } from '../../repo/cli/args.ts';
import { terminalJson } from '../../shared/terminal-text.ts';
import type { HostSummary } from '../fleet/fleet-index.ts';
import { callHub, field, hubExit, hubOptionHelp, hubOptionSpec, resolveHub } from './hub-api.ts';

export const usage = `usage: gitfleet hosts [--tag TAG] [--state STATE[,STATE…]] [--json] [hub options]

Lists the hosts the hub knows (declared in the repo or enrolled), worst first:
id, sync, connectivity, applied revision, tags.

      --tag TAG          only the hosts of this tag's subtree
      --state STATES     only hosts in any of these states: Failed, Drifted, Missing, OutOfSync, Pending,
                         Unknown, InSync, Ignored, Online, Offline, NeverSeen, Behind, Undeclared
      --json             the hub's answer as JSON
${hubOptionHelp}

exit codes: 0 every listed host in sync and online, 1 some is not, 2 usage error,
3 could not tell (hub unreachable, token refused, hub error)`;

const PAGE = 500;
const MAX_HOSTS = 20_000;

export function hostHealthy(h: HostSummary): boolean {
  return (h.sync === 'InSync' || h.sync === 'Ignored') && h.connectivity === 'Online';
}

export function formatHosts(hosts: HostSummary[]): string {
  if (hosts.length === 0) return 'no hosts';
  const rows = hosts.map((h) => [field(h.id, 100), field(h.sync, 20), field(h.connectivity, 20), h.lastAppliedRevision ? field(h.lastAppliedRevision.slice(0, 12)) : '-', field(h.tags.join(','), 200)]);
  const header = ['HOST', 'SYNC', 'CONNECTIVITY', 'APPLIED', 'TAGS'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('hosts', argv, { ...hubOptionSpec, tag: { type: 'string' }, state: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return hubExit.ok;
  }
  const target = resolveHub('hosts', values);
  const hosts: HostSummary[] = [];
  let total = 0;
  // Pages of 500 up to a bound: a hub cannot keep the command reading forever.
  do {
    const query = new URLSearchParams({ sort: 'sync', limit: String(PAGE), offset: String(hosts.length) });
    if (values.tag !== undefined) query.set('tag', values.tag);
    if (values.state !== undefined) query.set('state', values.state);
    const page = await callHub<{ total: number; hosts: HostSummary[] }>(target, 'GET', `/api/v1/hosts?${query}`);
    total = Number(page.total);
    hosts.push(...page.hosts);
    if (page.hosts.length === 0) break;
  } while (hosts.length < total && hosts.length < MAX_HOSTS);
  process.stdout.write(`${values.json ? terminalJson({ total, hosts }, 2) : formatHosts(hosts)}\n`);
  return hosts.every(hostHealthy) ? hubExit.ok : hubExit.failed;
}
