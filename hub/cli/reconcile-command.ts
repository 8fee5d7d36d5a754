// `gitfleet reconcile HOST | --tag TAG | --all [--wait]`: asks the hub to
// send reconcile-now to hosts (a manual sync: a failed head is retried at
// once), and with --wait follows them until each has reported a finished
// reconcile, printing each as it finishes.
import { parseCommandArgs, UsageError } from '../../repo/cli/args.ts';
import { durationMs, durationPattern } from '../../shared/durations.ts';
import { terminalJson } from '../../shared/terminal-text.ts';
import type { HostSummary } from '../fleet/fleet-index.ts';
import { callHub, field, hubExit, hubOptionHelp, hubOptionSpec, resolveHub, type HubTarget } from './hub-api.ts';

export const usage = `usage: gitfleet reconcile HOST | --tag TAG | --all [--wait [--timeout 5m]] [--json] [hub options]

Asks the hub to send reconcile-now to the host, to every host of a tag's
subtree, or to all hosts (an admin token is needed). Hosts not connected are
listed and not waited for. With --wait, follows the hosts until each has
reported a finished reconcile, one line per host as it finishes.

      --tag TAG          every host of this tag's subtree
      --all              every host
      --wait             wait until the hosts have reconciled
      --timeout DUR      how long --wait waits (default 5m)
      --json             print the hub's answer (and with --wait each host's summary) as JSON
${hubOptionHelp}

exit codes: 0 requested (with --wait: every host reconciled and in sync); 1 a host is not
connected or ended not in sync; 2 usage error; 3 could not tell (hub unreachable, token refused,
--wait timed out)`;

interface ReconcileAnswer {
  requested: number;
  reached: string[];
  notConnected: string[];
}

const POLL_MS = 1000;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'reconcile',
    argv,
    { ...hubOptionSpec, tag: { type: 'string' }, all: { type: 'boolean' }, wait: { type: 'boolean' }, timeout: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    1,
  );
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return hubExit.ok;
  }
  const chosen = [positionals.length > 0, values.tag !== undefined, values.all === true].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError('reconcile', 'name exactly one of HOST, --tag TAG or --all');
  let timeoutMs = 300_000;
  if (values.timeout !== undefined) {
    if (!durationPattern.test(values.timeout)) throw new UsageError('reconcile', `--timeout: a duration like 90s or 5m, got "${values.timeout}"`);
    timeoutMs = durationMs(values.timeout);
  }
  const target = resolveHub('reconcile', values);
  const body = positionals[0] !== undefined ? { host: positionals[0] } : values.tag !== undefined ? { tag: values.tag } : { all: true as const };
  // What each host last reported before the request: --wait waits for a newer report.
  const before = values.wait ? await snapshot(target, body) : new Map<string, HostSummary>();
  const answer = await callHub<ReconcileAnswer>(target, 'POST', '/api/v1/reconcile', { ...body, reason: 'requested with gitfleet reconcile' });
  const reached = answer.reached.map(String);
  const notConnected = answer.notConnected.map(String);
  if (!values.json) {
    process.stdout.write(`reconcile requested: ${reached.length} host(s) reached${notConnected.length > 0 ? `, ${notConnected.length} not connected: ${notConnected.map((h) => field(h, 100)).join(', ')}` : ''}\n`);
  }
  if (!values.wait) {
    if (values.json) process.stdout.write(`${terminalJson(answer, 2)}\n`);
    return notConnected.length > 0 ? hubExit.failed : hubExit.ok;
  }
  const finished = await follow(target, reached, before, timeoutMs, values.json === true);
  if (values.json) process.stdout.write(`${terminalJson({ ...answer, hosts: [...finished.values()] }, 2)}\n`);
  if (finished.size < reached.length) return hubExit.unknown;
  const allInSync = [...finished.values()].every((h) => h.sync === 'InSync' || h.sync === 'Ignored');
  return allInSync && notConnected.length === 0 ? hubExit.ok : hubExit.failed;
}

async function snapshot(target: HubTarget, body: { host: string } | { tag: string } | { all: true }): Promise<Map<string, HostSummary>> {
  const query = new URLSearchParams({ limit: '500' });
  if ('tag' in body) query.set('tag', body.tag);
  if ('host' in body) {
    const detail = await callHub<{ summary: HostSummary }>(target, 'GET', `/api/v1/hosts/${encodeURIComponent(body.host)}`);
    return new Map([[detail.summary.id, detail.summary]]);
  }
  const page = await callHub<{ hosts: HostSummary[] }>(target, 'GET', `/api/v1/hosts?${query}`);
  return new Map(page.hosts.map((h) => [h.id, h]));
}

/** Polls the hosts until each has sent a status newer than before the request and is not reconciling. */
async function follow(target: HubTarget, hosts: string[], before: Map<string, HostSummary>, timeoutMs: number, quiet: boolean): Promise<Map<string, HostSummary>> {
  const started = Date.now();
  const done = new Map<string, HostSummary>();
  let lastProgress = 0;
  while (done.size < hosts.length) {
    for (const id of hosts) {
      if (done.has(id)) continue;
      const { summary } = await callHub<{ summary: HostSummary }>(target, 'GET', `/api/v1/hosts/${encodeURIComponent(id)}`);
      const newer = summary.statusUpdatedAt !== null && summary.statusUpdatedAt !== (before.get(id)?.statusUpdatedAt ?? null);
      if (newer && !summary.reconciling) {
        done.set(id, summary);
        if (!quiet) {
          const applied = summary.lastAppliedRevision ? `applied ${field(summary.lastAppliedRevision.slice(0, 12))}` : 'nothing applied';
          process.stdout.write(`  ${field(id, 100)}  ${field(summary.sync, 20)}  ${applied}  (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
        }
      }
    }
    if (done.size === hosts.length) break;
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      const left = hosts.filter((h) => !done.has(h));
      process.stderr.write(`gitfleet reconcile: gave up after ${Math.round(timeoutMs / 1000)}s; no finished reconcile reported yet by ${left.map((h) => field(h, 100)).join(', ')}\n`);
      break;
    }
    if (!quiet && elapsed - lastProgress >= 5000) {
      lastProgress = elapsed;
      process.stderr.write(`waiting for ${hosts.length - done.size} host(s) ${Math.round(elapsed / 1000)}s/${Math.round(timeoutMs / 1000)}s\n`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return done;
}
