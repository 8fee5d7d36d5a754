// The cost of the fleet history at 10,000 hosts in 212 tags (docs/hub.md, History):
//   - storage: the SQLite database holding 10,000 reported hosts (baseline),
//     then the same database after a day of history written by the hub's own
//     sampler (1,440 minutes on a simulated clock): bytes per day, per row,
//     and the steady state (25 h of minute points + 8 days of hour points);
//   - the sampler's work per minute (fleet roll-up + two bucket writes), beside
//     the roll-up alone (what the hub computes anyway);
//   - the overview in headless Chromium against a real hub process on that
//     database: time to the counts (what the overview showed before the chart)
//     and time to the day's chart with all its points; and the API answers
//     /api/v1/summary (baseline), /api/v1/history?range=day and ?range=week.
//   node --import tsx bench/history.ts [--hosts 10000] [--runs 7]
import { statSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { FleetIndex } from '../hub/fleet/fleet-index.ts';
import { HistorySampler, sampleFleet } from '../hub/history/history-sampler.ts';
import { SqliteFleetStore } from '../hub/store/sqlite-store.ts';
import { historyResolutions } from '../hub/store/fleet-records.ts';
import { launchBrowser, missingBrowser } from '../test/harness/browser.ts';
import { facts, hostStatus, missingWebBuild, signIn, startHubProcess, tempDir } from '../test/e2e/web-hub.ts';
import type { ResourceStatus, SyncState } from '../shared/status.ts';
import { median } from './stats.ts';

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '10000' }, runs: { type: 'string', default: '7' } } });
const HOSTS = Number(values.hosts);
const RUNS = Number(values.runs);
const MINUTE = 60_000;

const envs = ['prod', 'staging'];
const regions = ['eu', 'us', 'ap', 'sa', 'af'];
const racks = 20;

function place(i: number): string {
  return `${envs[i % 2]}/${regions[Math.floor(i / 2) % regions.length]}/rack-${String(Math.floor(i / 10) % racks).padStart(2, '0')}`;
}

function status(id: string, i: number, sync: SyncState) {
  const p = place(i);
  const resources: ResourceStatus[] = [
    { id: 'container/web', sync, health: 'Healthy', diff: sync === 'Drifted' ? [{ field: 'image', desired: 'nginx:1.27', live: 'nginx:1.25' }] : [] },
    { id: 'unit/app.service', sync: 'InSync', health: 'Healthy', diff: [] },
  ];
  return hostStatus(id, { place: `${p}/${id}`, tags: [p], applied: 'a'.repeat(40), resources });
}

const fileSize = (dir: string) => ['hub.sqlite', 'hub.sqlite-wal'].reduce((n, f) => n + (statSync(join(dir, f), { throwIfNoEntry: false })?.size ?? 0), 0);

for (const missing of [missingBrowser(), missingWebBuild()]) {
  if (missing) {
    process.stderr.write(`history bench cannot run: ${missing}\n`);
    process.exit(2);
  }
}

const work = tempDir('history-bench');
const dataDir = join(work, 'data');
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const ids = Array.from({ length: HOSTS }, (_, i) => `host-${String(i).padStart(5, '0')}`);

// 1. The baseline database: 10,000 reported hosts.
{
  const store = new SqliteFleetStore(join(dataDir, 'hub.sqlite'));
  const now = new Date().toISOString();
  for (let start = 0; start < HOSTS; start += 1000) {
    await Promise.all(
      ids.slice(start, start + 1000).map(async (id, k) => {
        const i = start + k;
        await store.enroll(id, `hash-${id}`, now);
        await store.recordHello(id, { place: `${place(i)}/${id}`, tags: [place(i)], agentVersion: '0.1.0', facts: facts({ hostname: id }), droppedEvents: 0, seenAt: now });
        await store.saveStatus(id, 1, status(id, i, 'InSync'));
      }),
    );
  }
  await store.close();
}
const baselineBytes = fileSize(dataDir);

// 2. A day of history from the hub's sampler, on a simulated clock ending now; a few hosts change state every minute.
const index = new FleetIndex(() => {}, { summaryMaxAgeMs: 0 });
const store = new SqliteFleetStore(join(dataDir, 'hub.sqlite'));
index.load(await store.listHosts());
const dayStart = Date.now() - 24 * 60 * MINUTE;
let clock = dayStart;
const sampler = new HistorySampler(store, index, pino({ level: 'warn' }), () => clock);
const sampleMs: number[] = [];
const rollupMs: number[] = [];
const states: SyncState[] = ['InSync', 'InSync', 'InSync', 'Drifted', 'Failed', 'Pending'];
for (let m = 0; m < 24 * 60; m++) {
  clock = dayStart + m * MINUTE + 1000;
  for (let k = 0; k < 20; k++) {
    const i = (m * 37 + k * 499) % HOSTS;
    index.status(ids[i]!, status(ids[i]!, i, states[(m + k) % states.length]!));
  }
  let t = performance.now();
  sampleFleet(index);
  rollupMs.push(performance.now() - t);
  // A host change after the roll-up above, so the sampler's own roll-up is not a cached one.
  index.status(ids[m % HOSTS]!, status(ids[m % HOSTS]!, m % HOSTS, 'InSync'));
  t = performance.now();
  await sampler.sample();
  sampleMs.push(performance.now() - t);
}
await store.close();
const dayBytes = fileSize(dataDir) - baselineBytes;
const db = new Database(join(dataDir, 'hub.sqlite'), { readonly: true });
const rows = Object.fromEntries((db.prepare('SELECT resolution, COUNT(*) AS n FROM fleet_history GROUP BY resolution').all() as Array<{ resolution: string; n: number }>).map((r) => [r.resolution, r.n]));
const scopes = (db.prepare("SELECT COUNT(DISTINCT scope) AS n FROM fleet_history WHERE resolution = '1m'").get() as { n: number }).n;
db.close();
const totalRows = (rows['1m'] ?? 0) + (rows['1h'] ?? 0);
const bytesPerRow = dayBytes / totalRows;
const steadyRows = scopes * (historyResolutions['1m'].keepMs / MINUTE + historyResolutions['1h'].keepMs / (60 * MINUTE));

// 3. The overview with the chart, against a real hub process on that database.
async function overviewTimes(page: Page, url: string): Promise<{ counts: number; chart: number; points: number }> {
  await page.goto('about:blank');
  await page.goto(url, { waitUntil: 'commit' });
  const counts = await page.waitForFunction((n) => document.querySelector('[data-count="Total"] .card-n')?.textContent === String(n) && performance.now(), HOSTS, { polling: 'raf', timeout: 20_000 });
  const chart = await page.waitForFunction(() => {
    const svg = document.querySelector('svg.history-chart');
    return svg !== null && Number(svg.getAttribute('data-points')) >= 1400 && [performance.now(), Number(svg.getAttribute('data-points'))];
  }, undefined, { polling: 'raf', timeout: 20_000 });
  const [chartMs, points] = (await chart.jsonValue()) as [number, number];
  return { counts: (await counts.jsonValue()) as number, chart: chartMs, points };
}

async function apiTime(page: Page, token: string, path: string): Promise<{ ms: number; bytes: number }> {
  return page.evaluate(
    async ({ token, path }) => {
      const t0 = performance.now();
      const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.text();
      JSON.parse(text);
      return { ms: performance.now() - t0, bytes: text.length };
    },
    { token, path },
  );
}

const hub = await startHubProcess({ dataDir });
const browser = await launchBrowser();
const load = { counts: [] as number[], chart: [] as number[], points: 0 };
const api: Record<string, { ms: number[]; bytes: number }> = {};
try {
  const page = await browser.newPage({ width: 1280, height: 900 });
  await signIn(page, hub.url, hub.adminToken);
  for (let run = 0; run <= RUNS; run++) {
    const t = await overviewTimes(page, `${hub.url}/#/`);
    for (const path of ['/api/v1/summary', '/api/v1/history?range=day', '/api/v1/history?range=week', '/api/v1/history?range=day&tag=prod%2Feu']) {
      const r = await apiTime(page, hub.adminToken, path);
      if (run > 0) (api[path] ??= { ms: [], bytes: r.bytes }).ms.push(r.ms);
    }
    if (run === 0) continue; // warms the hub's and the browser's caches
    load.counts.push(t.counts);
    load.chart.push(t.chart);
    load.points = t.points;
  }
} finally {
  await browser.close();
  await hub.stop();
  rmSync(work, { recursive: true, force: true });
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
process.stdout.write(
  [
    `fleet history at ${HOSTS} hosts in ${scopes - 1} tags (+ the fleet scope)`,
    ``,
    `storage (SQLite)`,
    `  database with ${HOSTS} reported hosts (baseline)      ${mb(baselineBytes)}`,
    `  + one day of history                               ${mb(dayBytes)}  (${rows['1m']} minute rows + ${rows['1h']} hour rows, ${bytesPerRow.toFixed(0)} bytes/row)`,
    `  steady state (25 h of minutes + 8 days of hours)   ${mb(steadyRows * bytesPerRow)}  (${steadyRows} rows, estimated at the measured bytes/row)`,
    ``,
    `sampler, once a minute (median / p99 of ${sampleMs.length})`,
    `  roll-up alone (baseline: what the index computes)  ${ms(median(rollupMs))} / ${ms(p(rollupMs, 0.99))}`,
    `  sample: roll-up + minute and hour bucket writes     ${ms(median(sampleMs))} / ${ms(p(sampleMs, 0.99))}`,
    ``,
    `overview in headless Chromium, cold load, median of ${RUNS}`,
    `  counts painted (baseline: the overview without waiting for the chart)  ${ms(median(load.counts))}`,
    `  day chart painted (${load.points} points)                            ${ms(median(load.chart))}`,
    ``,
    `API from the page, median of ${RUNS}`,
    ...Object.entries(api).map(([path, r]) => `  ${path.padEnd(44)} ${ms(median(r.ms)).padStart(9)}  ${(r.bytes / 1024).toFixed(0)} KiB`),
    '',
  ].join('\n'),
);
