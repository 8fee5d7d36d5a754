// History charts, the host's revision timeline and the audit page in headless
// Chromium against a real hub process: the points stored in the hub's
// database are the points the charts draw (seeded straight into its SQLite
// file before it starts, plus the ones the hub records itself), for the fleet
// and for a tag, over a day and a week; the timeline shows every attempt a
// real reporting client sent; no CSP violation (the charts use no inline
// styles). Screenshots go to test-artifacts/web/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { requireComponent } from '../harness/require.ts';
import { launchBrowser, missingBrowser, watchPageProblems } from '../harness/browser.ts';
import type { TestBrowser } from '../harness/browser.ts';
import { artifactsDir, eventually, hostStatus, makeFleetRepo, missingWebBuild, ReportingHost, screenshot, signIn, startHubProcess, tempDir } from './web-hub.ts';
import type { HubProcess } from './web-hub.ts';
import { SqliteFleetStore } from '../../hub/store/sqlite-store.ts';
import type { HistoryBucket } from '../../hub/store/fleet-records.ts';
import type { Attempt } from '../../shared/status.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Past points only (the hub writes the current minute and hour itself). */
function seededBuckets(now: number): { minutes: HistoryBucket[]; hours: HistoryBucket[] } {
  const minuteStart = Math.floor(now / MIN) * MIN;
  const minutes: HistoryBucket[] = [];
  // Nearly the whole day, 1,430 minutes back to 2 back, but for half an hour when the hub was down (a gap),
  // with a deploy (hosts Pending), two drift waves and two hosts failing at the end.
  for (let back = 1430; back >= 2; back--) {
    if (back <= 600 && back > 570) continue;
    const failed = back <= 10 ? 2 : back > 900 && back <= 960 ? 1 : 0;
    const drifted = back > 300 && back <= 360 ? 3 : back > 900 && back <= 960 ? 5 : 0;
    const pending = back > 700 && back <= 706 ? 6 : 0;
    const counts = { InSync: 20 - failed - drifted - pending, ...(failed ? { Failed: failed } : {}), ...(drifted ? { Drifted: drifted } : {}), ...(pending ? { Pending: pending } : {}) };
    minutes.push({
      resolution: '1m',
      at: new Date(minuteStart - back * MIN).toISOString(),
      scopes: [
        { scope: '', counts },
        { scope: 'prod/eu', counts: { InSync: 8 - (back <= 10 ? 2 : 0), ...(back <= 10 ? { Failed: 2 } : {}) } },
      ],
    });
  }
  const hourStart = Math.floor(now / HOUR) * HOUR;
  const hours: HistoryBucket[] = Array.from({ length: 48 }, (_, i) => ({
    resolution: '1h' as const,
    at: new Date(hourStart - (48 - i) * HOUR).toISOString(),
    scopes: [{ scope: '', counts: { InSync: 15 + (i % 5), Pending: i % 3 } }],
  }));
  return { minutes, hours };
}

/** What the chart shows: every point column with its total. */
async function chartColumns(page: Page): Promise<Map<string, number>> {
  const cols = await page.$$eval('svg.history-chart rect.hit', (rects) => rects.map((r) => [r.getAttribute('data-at') ?? '', Number(r.getAttribute('data-total'))] as const));
  return new Map(cols);
}

test('history charts draw the stored points; the host timeline and the audit page render; no CSP problem', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'chromium', missingBrowser())) return;
  if (!requireComponent(t, 'web view build', missingWebBuild())) return;

  const work = tempDir('web-history');
  const repo = makeFleetRepo(join(work, 'fleet'), { 'prod/eu/web-01/host.yaml': '', 'prod/us/db-01/host.yaml': '' });
  const dataDir = join(work, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const now = Date.now();
  const seeded = seededBuckets(now);
  const store = new SqliteFleetStore(join(dataDir, 'hub.sqlite'));
  for (const b of [...seeded.minutes, ...seeded.hours]) await store.saveHistory(b, new Date(now - 30 * 24 * HOUR).toISOString());
  await store.close();

  let hub: HubProcess | null = null;
  let browser: TestBrowser | null = null;
  let web01: ReportingHost | null = null;
  t.after(async () => {
    await web01?.stop();
    await browser?.close();
    await hub?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  hub = await startHubProcess({ repo: repo.dir, dataDir });
  const h = hub;
  await eventually('the hub to read the repo head', async () => (await h.api<{ head: { revision: string } | null }>('/api/v1/summary')).body.head?.revision === repo.head);

  // A host whose attempts go: applied A, failed B, rolled back to A, applied C.
  web01 = new ReportingHost(hub, 'web-01', { place: 'prod/eu/web-01' });
  const [A, B, C] = ['a', 'b', 'c'].map((c) => c.repeat(40)) as [string, string, string];
  const attempt = (minutesAgo: number, revision: string, result: Attempt['result']): Attempt => ({ trigger: result === 'RolledBack' ? 'rollback' : 'poll', revision, startedAt: new Date(now - minutesAgo * MIN).toISOString(), durationMs: 900, result, intended: [], driftCorrected: [] });
  const status = hostStatus('web-01', { place: 'prod/eu/web-01', applied: C });
  status.attempts = [attempt(5, C, 'Succeeded'), attempt(30, A, 'RolledBack'), attempt(31, B, 'Failed'), attempt(60, A, 'Succeeded')];
  web01.client.reportStatus(status);
  await eventually('web-01 stored with its attempts', async () => (await h.api<{ attempts: Attempt[] }>('/api/v1/hosts/web-01')).body.attempts?.length === 4);

  browser = await launchBrowser();
  const page = await browser.newPage({ width: 1280, height: 900 });
  const problems = watchPageProblems(page);
  await signIn(page, hub.url, hub.adminToken);

  // Overview: the last day at 1-minute points.
  await page.waitForSelector('section.fleet-history svg.history-chart');
  const day = await chartColumns(page);
  for (const b of seeded.minutes) {
    const fleet = b.scopes.find((s) => s.scope === '')!;
    assert.equal(day.get(b.at), Object.values(fleet.counts).reduce((a, n) => a + n, 0), `the point at ${b.at} is drawn with its total`);
  }
  // Besides the seeded points, at most the one the hub recorded itself since it started (the current minute).
  assert.ok(day.size >= seeded.minutes.length && day.size <= seeded.minutes.length + 2, `${day.size} columns for ${seeded.minutes.length} seeded points`);
  assert.equal(await page.getAttribute('svg.history-chart', 'data-max'), '20');
  // Every state present in the points has a band with a drawn outline; a state never present draws nothing.
  for (const state of ['InSync', 'Failed', 'Drifted']) {
    const d = await page.getAttribute(`svg.history-chart path[data-state="${state}"]`, 'd');
    assert.ok(d && d.startsWith('M') && d.split('M').length - 1 >= 2, `${state}: one outline per run of points (the gap splits them): ${d?.slice(0, 60)}`);
  }
  const tooltip = await page.textContent(`svg.history-chart rect.hit[data-at="${seeded.minutes[seeded.minutes.length - 1]!.at}"] title`);
  assert.match(tooltip ?? '', /Failed 2, InSync 18/);
  await screenshot(page, 'history-overview-page');
  await (await page.$('section.fleet-history'))!.screenshot({ path: join(artifactsDir, 'history-overview.png') });

  // The last week at 1-hour points.
  await page.click('section.fleet-history button[data-range="week"]');
  await page.waitForSelector('section.fleet-history[data-range="week"] svg.history-chart');
  const week = await chartColumns(page);
  for (const b of seeded.hours) assert.equal(week.get(b.at), Object.values(b.scopes[0]!.counts).reduce((a, n) => a + n, 0), `hour ${b.at}`);
  assert.ok(week.size <= seeded.hours.length + 1);

  // A tag's page: its own points.
  await page.goto(`${hub.url}/#/hosts?tag=prod/eu`);
  await page.waitForSelector('section.fleet-history svg.history-chart');
  const tag = await chartColumns(page);
  for (const b of seeded.minutes) assert.equal(tag.get(b.at), 8, `prod/eu at ${b.at}`);
  await (await page.$('section.fleet-history'))!.screenshot({ path: join(artifactsDir, 'history-tag.png') });
  assert.match((await page.getAttribute('svg.history-chart', 'aria-label')) ?? '', /tag prod\/eu/);

  // The host's revision timeline: every attempt, a band per revision it ran.
  await page.goto(`${hub.url}/#/host/web-01`);
  await page.waitForSelector('svg.revision-timeline');
  assert.equal(await page.locator('svg.revision-timeline circle.mark').count(), 4);
  assert.deepEqual(await page.$$eval('svg.revision-timeline circle.mark', (c) => c.map((x) => x.getAttribute('data-result'))), ['Succeeded', 'Failed', 'RolledBack', 'Succeeded']);
  assert.deepEqual(await page.$$eval('svg.revision-timeline g[data-revision]', (g) => g.map((x) => x.getAttribute('data-revision')!.slice(0, 1))), ['a', 'c']);
  await (await page.$('section:has(svg.revision-timeline)'))!.screenshot({ path: join(artifactsDir, 'history-host-timeline.png') });

  // The audit page: the reconcile just asked for is at the top.
  assert.equal((await hub.api('/api/v1/reconcile', { method: 'POST', body: { tag: 'prod' } })).status, 200);
  await page.goto(`${hub.url}/#/audit`);
  await page.waitForSelector('table.audit-table tbody tr');
  const first = await page.$eval('table.audit-table tbody tr', (tr) => [tr.getAttribute('data-audit'), tr.textContent]);
  assert.equal(first[0], 'reconcile');
  assert.match(first[1] ?? '', /admin.*127\.0\.0\.1.*tag prod/);
  await screenshot(page, 'audit-page');

  // A viewer sees the charts but no audit page.
  const viewer = await browser.newPage();
  const viewerProblems = watchPageProblems(viewer);
  await signIn(viewer, hub.url, hub.viewerToken);
  await viewer.waitForSelector('section.fleet-history svg.history-chart');
  assert.equal(await viewer.locator('header.top nav a[href="#/audit"]').count(), 0);
  assert.deepEqual([...problems, ...viewerProblems], [], 'no page errors or CSP violations');
});
