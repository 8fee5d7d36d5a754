// What notifications and commit statuses cost the hub (hub/notify,
// hub/forge-status), side by side in one run with the same work without them:
// 10,000 hosts in the fleet index, each sending a status of 20 resources.
//   baseline   FleetIndex.status() for every host, no notify:/commitStatus:
//   notify     the same with both configured (3 rules, 3 sinks, a forge):
//              each status goes through the problem tracker and the rules
//   failing    the same, with 1,000 of the hosts failing on a new revision
//              (transitions: grouping into one message per tag)
// and the periodic passes over the fleet: one commit status evaluation (the
// head's progress over every host) and one "head applied fleet-wide" check.
//   node --import tsx bench/notify.ts [--runs N]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadHubConfig } from '../hub/config.ts';
import { FleetIndex } from '../hub/fleet/fleet-index.ts';
import { HubMetrics } from '../hub/metrics.ts';
import { Notifications } from '../hub/notify/notifications.ts';
import { revisionProgress } from '../hub/notify/revision-progress.ts';
import { describe } from '../hub/forge-status/commit-status-reporter.ts';
import type { FleetHead } from '../hub/git/fleet-repo-view.ts';
import type { HostStatus } from '../shared/status.ts';
import { median } from './stats.ts';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 9;
const HOSTS = 10_000;
const FAILING = 1_000;
const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);
const dir = mkdtempSync(join(tmpdir(), 'gf-bench-notify-'));
const regions = ['prod/eu', 'prod/us', 'prod/ap', 'staging/eu'];
const ids = Array.from({ length: HOSTS }, (_, i) => `host-${String(i).padStart(5, '0')}`);

function status(host: string, revision: string, failedOn: string | null): HostStatus {
  const now = new Date().toISOString();
  return {
    host,
    place: '',
    tags: [],
    conditions: [{ type: 'Ready', status: failedOn === null, reason: failedOn ? 'ApplyFailed' : 'Converged', message: failedOn ? 'container/app-3: start failed: exit 1' : 'ok', lastTransitionTime: now }],
    lastAppliedRevision: revision,
    lastAttemptedRevision: failedOn ?? revision,
    resources: Array.from({ length: 20 }, (_, r) => ({ id: `container/app-${r}`, sync: failedOn && r === 3 ? ('Failed' as const) : ('InSync' as const), health: 'Healthy' as const, diff: [] })),
    attempts: [],
    updatedAt: now,
  };
}

function fleet(withNotifications: boolean): { index: FleetIndex; n: Notifications | null } {
  const index = new FleetIndex();
  const head: FleetHead = { revision: NEW, hosts: ids.map((id, i) => ({ id, dir: `${regions[i % regions.length]}/${id}`, pathTags: [regions[i % regions.length]!], crossTags: [] })), tags: regions } as unknown as FleetHead;
  index.setHead(head);
  for (const [i, id] of ids.entries()) {
    index.hello(id, { place: `${regions[i % regions.length]}/${id}`, tags: [], agentVersion: 'bench', seenAt: new Date().toISOString() });
    index.connected(id, true);
  }
  if (!withNotifications) return { index, n: null };
  writeFileSync(join(dir, 'secret'), 'bench-secret-0123456789abcdef');
  writeFileSync(join(dir, 'token'), 'forge-token');
  writeFileSync(
    join(dir, 'hub.yaml'),
    `adminToken: admin-token-0123456789abcdef
repo: https://git.example.com/ops/fleet.git
notify:
  sinks:
    a: { type: webhook, url: "http://127.0.0.1:9/a", secretFile: ${join(dir, 'secret')} }
    b: { type: webhook, url: "http://127.0.0.1:9/b", secretFile: ${join(dir, 'secret')} }
    c: { type: command, command: [/bin/true] }
  rules:
    - { name: prod, events: [failed, refused, rolledBack, offline, recovered], tags: [prod], sinks: [a, c] }
    - { name: eu, events: [failed, drifted, recovered], tags: [prod/eu, staging/eu], sinks: [b] }
    - { name: releases, events: [headApplied], sinks: [a] }
commitStatus: { forge: github, baseUrl: "http://127.0.0.1:9", repository: ops/fleet, tokenFile: ${join(dir, 'token')}, webUrl: "https://hub.example.com" }
`,
  );
  const config = loadHubConfig(join(dir, 'hub.yaml'), {});
  const n = new Notifications({ notify: config.notify, commitStatus: config.commitStatus, index, metrics: new HubMetrics(), logger: pino({ level: 'silent' }), hubSecrets: [config.adminToken] });
  void n.start();
  return { index, n };
}

/** Milliseconds for one status of every host (statuses built beforehand, outside the timing). */
function round(index: FleetIndex, statuses: HostStatus[]): number {
  const t0 = performance.now();
  for (const s of statuses) index.status(s.host, s);
  return performance.now() - t0;
}

const steady = ids.map((id) => status(id, OLD, null));
const failing = ids.map((id, i) => status(id, OLD, i < FAILING ? NEW : null));
const samples = { baseline: [] as number[], notify: [] as number[], failing: [] as number[], failingBaseline: [] as number[], evaluate: [] as number[] };
const plain = fleet(false);
const withN = fleet(true);
for (let r = 0; r < runs; r++) {
  // Alternate, so drift in the machine's load hits both alike.
  samples.baseline.push(round(plain.index, steady));
  samples.notify.push(round(withN.index, steady));
  samples.failingBaseline.push(round(plain.index, failing));
  samples.failing.push(round(withN.index, failing));
  // Back to steady, so the next failing round has its 1,000 transitions again (and 1,000 recoveries here).
  round(plain.index, steady);
  round(withN.index, steady);
  const t0 = performance.now();
  const all = withN.index.all();
  describe(revisionProgress(all, NEW, () => ({})));
  samples.evaluate.push(performance.now() - t0);
}
void withN.n!.close();
rmSync(dir, { recursive: true, force: true });

const us = (ms: number) => ((ms * 1000) / HOSTS).toFixed(2);
const line = (what: string, v: number[], base?: number[]) =>
  `${what.padEnd(44)} ${median(v).toFixed(1).padStart(8)} ms per 10,000 statuses  ${us(median(v)).padStart(6)} µs/status${base ? `  ×${(median(v) / median(base)).toFixed(2)} of its baseline` : ''}`;
console.log(`notifications bench: ${HOSTS} hosts, 20 resources each, ${runs} runs (medians); ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`);
console.log(line('baseline: index.status, no notifications', samples.baseline));
console.log(line('notify: with notify: and commitStatus:', samples.notify, samples.baseline));
console.log(line(`baseline with ${FAILING} hosts failing`, samples.failingBaseline));
console.log(line(`notify with ${FAILING} hosts failing (grouping)`, samples.failing, samples.failingBaseline));
console.log(`${'one commit status evaluation (10,000 hosts)'.padEnd(44)} ${median(samples.evaluate).toFixed(1).padStart(8)} ms (at most once per debounce, default 5 s)`);
