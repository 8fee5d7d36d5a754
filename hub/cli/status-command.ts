// `gitfleet status [--hub URL] [--token T] [--json]`: the fleet summary from
// a hub, for a terminal or a script. Exit 0 when every host is in sync and
// online, 1 when not (or the hub cannot be reached), 2 on usage errors.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { FleetSummary } from '../fleet/fleet-index.ts';

const usage = `usage: gitfleet status [--hub URL] [--token TOKEN | --token-file FILE] [--json]

  --hub URL         the hub's API address (default $GITFLEET_HUB_URL or http://127.0.0.1:8080)
  --token TOKEN     an admin or viewer token (default $GITFLEET_HUB_TOKEN)
  --token-file FILE read the token from FILE
  --json            print the summary as JSON

exit codes: 0 all hosts in sync and online, 1 some are not or the hub failed, 2 usage error`;

function fail(message: string, code: number): number {
  process.stderr.write(`gitfleet status: ${message}\n`);
  return code;
}

export function formatSummary(s: FleetSummary): string {
  const nonZero = (counts: Record<string, number>) =>
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  const lines = [
    `hosts: ${s.total}`,
    `head: ${s.head ? `${s.head.revision.slice(0, 12)}${s.head.subject ? ` ${s.head.subject}` : ''}${s.head.issues.length > 0 ? ` (${s.head.issues.length} validation issue(s))` : ''}` : 'unknown (no repo configured or not read yet)'}`,
    `sync: ${nonZero(s.sync)}`,
    `connectivity: ${nonZero(s.connectivity)}`,
    `behind head: ${s.behind}   without a directory: ${s.undeclared}`,
  ];
  const top = s.tags.filter((t) => !t.tag.includes('/'));
  if (top.length > 0) {
    const width = Math.max(...top.map((t) => t.tag.length), 3);
    lines.push('', `${'tag'.padEnd(width)}  hosts  worst`);
    for (const t of top) lines.push(`${t.tag.padEnd(width)}  ${String(t.total).padStart(5)}  ${t.worst ?? '-'}`);
  }
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { hub: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
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
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    return fail(`cannot reach the hub at ${base}: ${(error as Error).message}`, 1);
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    return fail(`the hub answered ${response.status}: ${body?.error?.message ?? response.statusText}`, 1);
  }
  const summary = (await response.json()) as FleetSummary;
  process.stdout.write((values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)) + '\n');
  const healthy = summary.total === (summary.sync.InSync ?? 0) + (summary.sync.Ignored ?? 0) && summary.connectivity.Offline === 0 && summary.connectivity.NeverSeen === 0;
  return healthy ? 0 : 1;
}
