// The hub's web view in headless Chromium against a real hub process and real
// reporting clients (the agent's HubClient over WebSocket): overview counts
// match the API, hostile host-reported strings render as text, filters,
// search and sort work, the viewer cannot mutate, and live changes appear
// without a reload within 2 s. Screenshots go to test-artifacts/web/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { requireComponent } from '../harness/require.ts';
import { launchBrowser, missingBrowser, watchPageProblems } from '../harness/browser.ts';
import type { TestBrowser } from '../harness/browser.ts';
import { eventually, facts, hostStatus, makeFleetRepo, missingWebBuild, ReportingHost, screenshot, signIn, startHubProcess, tempDir } from './web-hub.ts';
import type { HubProcess } from './web-hub.ts';

const XSS_SCRIPT = '<script>window.__xss=1</script>';
const XSS_IMG = '"><img src=x onerror=window.__xss=1>';

interface Summary {
  total: number;
  sync: Record<string, number>;
  connectivity: Record<string, number>;
  behind: number;
  reconciling: number;
  head: { revision: string } | null;
}

/** The overview's cards as the page shows them: key → number. */
async function cardCounts(page: Page): Promise<Record<string, number>> {
  return page.$$eval('[data-count]', (cards) => Object.fromEntries(cards.map((c) => [c.getAttribute('data-count'), Number(c.querySelector('.card-n')?.textContent)])));
}

async function rowIds(page: Page): Promise<string[]> {
  await page.waitForSelector('table.hosts-table[aria-busy="false"]');
  return page.$$eval('table.hosts-table tbody tr', (rows) => rows.map((r) => r.getAttribute('data-host') ?? ''));
}

/** Waits until the hosts table shows exactly these ids, in this order. */
async function expectRows(page: Page, ids: string[], what: string): Promise<void> {
  await eventually(what, async () => JSON.stringify(await rowIds(page)) === JSON.stringify(ids), 15_000).catch(async (e: Error) => {
    throw new Error(`${e.message}; the table shows ${JSON.stringify(await rowIds(page))}, expected ${JSON.stringify(ids)}`);
  });
}

async function assertNothingExecuted(page: Page, where: string): Promise<void> {
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined, `${where}: a host-reported string executed`);
  assert.equal(await page.locator('#app img').count(), 0, `${where}: an <img> from a host-reported string became an element`);
  assert.equal(await page.locator('#app script').count(), 0, `${where}: a <script> from a host-reported string became an element`);
}

test('web view: a hub with real reporting clients, in headless Chromium', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'chromium', missingBrowser())) return;
  if (!requireComponent(t, 'web view build', missingWebBuild())) return;

  const work = tempDir('web-view');
  const repo = makeFleetRepo(join(work, 'fleet'), {
    'prod/eu/web-01/host.yaml': 'tags: [gpu]\n',
    'prod/eu/web-02/host.yaml': '',
    'prod/us/db-01/host.yaml': '',
    'staging/app-01/host.yaml': '',
    'staging/never-01/host.yaml': '',
    'tags/gpu/gpu.yaml': 'files:\n  /etc/gpu.conf:\n    content: "gpu\\n"\n',
  });
  const old = repo.head;
  const head = repo.commit({ 'prod/prod.yaml': 'files:\n  /etc/motd:\n    content: "prod\\n"\n' }, 'motd for prod');

  let hub: HubProcess | null = null;
  let browser: TestBrowser | null = null;
  const hosts: ReportingHost[] = [];
  t.after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await browser?.close();
    await hub?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  hub = await startHubProcess({ repo: repo.dir, extraConfig: { commitUrl: '"https://git.example.test/ops/fleet/commit/{rev}"' } });
  const h = hub;
  await eventually('the hub to read the repo head', async () => (await h.api<Summary>('/api/v1/summary')).body.head?.revision === head);

  const report = (id: string, place: string, o: Omit<Parameters<typeof hostStatus>[1], 'place'> & { facts?: ReturnType<typeof facts> }) => {
    const host = new ReportingHost(h, id, { place, tags: o.tags ?? [], ...(o.facts ? { facts: o.facts } : {}) });
    hosts.push(host);
    host.client.reportStatus(hostStatus(id, { ...o, place }));
    return host;
  };
  const web01 = report('web-01', 'prod/eu/web-01', { applied: head, tags: ['gpu'] });
  const web02 = report('web-02', 'prod/eu/web-02', {
    applied: head,
    facts: facts({ hostname: XSS_IMG, kernel: XSS_SCRIPT, containerEngine: { name: 'podman', version: XSS_IMG } }),
    resources: [
      { id: 'container/web', sync: 'Drifted', health: 'Degraded', message: XSS_SCRIPT, diff: [{ field: 'image', desired: 'nginx:1.27', live: XSS_IMG }, { field: XSS_IMG, desired: XSS_SCRIPT, live: { env: XSS_IMG } }] },
      { id: `file/${XSS_IMG}`, sync: 'InSync', health: 'Healthy', diff: [] },
    ],
  });
  const db01 = report('db-01', 'prod/us/db-01', { applied: head, stalled: `health gate failed: ${XSS_IMG}` });
  // db-01 refuses a head and has a failing unit with its journal lines: what a person reads instead of SSHing in.
  const refusedHead = 'f'.repeat(40);
  const retryAt = new Date(Date.now() + 3_600_000).toISOString();
  db01.client.reportStatus({
    ...hostStatus('db-01', {
      applied: head,
      place: 'prod/us/db-01',
      stalled: `health gate failed: ${XSS_IMG}`,
      resources: [{ id: 'unit/db.service', sync: 'Failed', health: 'Degraded', message: 'stopped again right after it was started', diff: [], logs: ['db: starting', `db: cannot open ${XSS_IMG}`], exitCode: 3 }],
    }),
    refused: { revision: refusedHead, reason: 'GIT_UNTRUSTED', message: `head ${refusedHead} is not signed by a trusted key ${XSS_SCRIPT}`, since: new Date().toISOString() },
    nextRetryAt: retryAt,
  });
  report('app-01', 'staging/app-01', { applied: old, reconciling: true });
  report('evil-01', XSS_IMG, { applied: head, tags: [XSS_SCRIPT] });

  const expected = { total: 6, InSync: 3, OutOfSync: 0, Drifted: 1, Failed: 1, Reconciling: 1, Offline: 0, Behind: 1, NeverSeen: 1 };
  const summary = await eventually('every client to report', async () => {
    const s = (await h.api<Summary>('/api/v1/summary')).body;
    return s.sync.InSync === 3 && s.sync.Drifted === 1 && s.sync.Failed === 1 && s.connectivity.Online === 5 ? s : undefined;
  }, 30_000);
  web02.client.reportEvent({ reason: XSS_SCRIPT, message: `restarted by hand ${XSS_IMG}`, resource: 'container/web', level: 'warning' });
  await eventually('the hostile event to be stored', async () => (await h.api<{ events: Array<{ message: string }> }>('/api/v1/hosts/web-02/events')).body.events.some((e) => e.message.includes(XSS_IMG)));

  browser = await launchBrowser();
  const page = await browser.newPage();
  const problems = watchPageProblems(page);

  await t.test('login refuses a wrong token and accepts the admin token', async () => {
    await page.goto(`${h.url}/#/`);
    await page.fill('#token', 'not-the-token-at-all');
    await page.click('button[type=submit]');
    await page.waitForSelector('.login .error');
    assert.match(await page.textContent('.login .error') ?? '', /does not accept/);
    await screenshot(page, 'login');
    await page.fill('#token', h.adminToken);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-role="admin"]');
    assert.equal(await page.evaluate(() => sessionStorage.length), 1, 'the session is kept in sessionStorage');
  });

  await t.test('overview counts match the API', async () => {
    await page.waitForSelector('[data-count="Total"]');
    await eventually('the cards to show the API summary', async () => (await cardCounts(page)).Total === summary.total);
    const cards = await cardCounts(page);
    const api = (await h.api<Summary>('/api/v1/summary')).body;
    assert.deepEqual(cards, {
      InSync: api.sync.InSync!,
      OutOfSync: api.sync.OutOfSync ?? 0,
      Drifted: api.sync.Drifted! + api.sync.Missing!,
      Failed: api.sync.Failed!,
      Reconciling: api.reconciling,
      Offline: api.connectivity.Offline!,
      Behind: api.behind,
      NeverSeen: api.connectivity.NeverSeen!,
      Total: api.total,
    });
    // And the API agrees with what the clients reported (so the comparison above is not vacuous).
    const { total, ...byState } = expected;
    assert.deepEqual(cards, { ...byState, Total: total });
    assert.match(await page.textContent('[data-testid=head]') ?? '', new RegExp(head.slice(0, 10)));
    assert.deepEqual(await page.$$eval('[data-testid=failures] li a', (as) => as.map((a) => a.textContent)), ['db-01']);
    await screenshot(page, 'overview');
  });

  await t.test('the tag tree rolls up worst state and counts, lists cross-cutting tags, and filters the table', async () => {
    await page.goto(`${h.url}/#/tags`);
    await page.waitForSelector('[data-testid=tag-tree]');
    const prodRow = page.locator('[data-testid=tag-tree] .tag-row', { has: page.locator('a[data-tag="prod"]') }).first();
    assert.equal(await prodRow.locator('[data-sync]').getAttribute('data-sync'), 'Failed', 'prod holds db-01 (failed): worst wins');
    assert.match(await prodRow.textContent() ?? '', /3 hosts/);
    assert.deepEqual(await page.$$eval('[data-testid=cross-tags] a[data-tag]', (as) => as.map((a) => a.getAttribute('data-tag'))), ['gpu']);
    await screenshot(page, 'tags');
    await page.click('a[data-tag="prod/eu"]');
    await expectRows(page, ['web-01', 'web-02'], 'the table filtered to prod/eu');
    assert.match(page.url(), /#\/hosts\?tag=prod%2Feu/);
  });

  await t.test('filters, search and sort work on the hosts table', async () => {
    await page.goto(`${h.url}/#/hosts`);
    await expectRows(page, ['app-01', 'db-01', 'evil-01', 'never-01', 'web-01', 'web-02'], 'all hosts by id');
    await page.fill('input[name=q]', 'web-');
    await expectRows(page, ['web-01', 'web-02'], 'search "web-"');
    await page.fill('input[name=q]', '');
    await page.selectOption('select[name=state]', 'Failed');
    await expectRows(page, ['db-01'], 'state Failed');
    await page.selectOption('select[name=state]', 'Behind');
    await expectRows(page, ['app-01'], 'state Behind');
    await page.selectOption('select[name=state]', 'NeverSeen');
    await expectRows(page, ['never-01'], 'state NeverSeen');
    await page.selectOption('select[name=state]', '');
    await page.fill('input[name=tag]', 'staging');
    await page.press('input[name=tag]', 'Enter');
    await expectRows(page, ['app-01', 'never-01'], 'tag staging');
    await page.click('button:has-text("Clear filters")');
    await page.click('button[data-sort=id]');
    await expectRows(page, ['web-02', 'web-01', 'never-01', 'evil-01', 'db-01', 'app-01'], 'sorted by id, descending');
    await page.click('button[data-sort=drift]');
    const byDrift = await rowIds(page);
    assert.equal(byDrift.at(-1), 'web-02', 'ascending drift puts the drifted host last');
    await page.click('button[data-sort=sync]');
    await eventually('sorted by state, worst first', async () => (await rowIds(page))[0] === 'db-01');
    // With commitUrl configured, applied revisions link to the commit (a link nobody follows in the test).
    const href = await page.getAttribute('table tbody a[href*="/commit/"]', 'href');
    assert.match(href ?? '', /^https:\/\/git\.example\.test\/ops\/fleet\/commit\/[0-9a-f]{40}$/);
    await screenshot(page, 'hosts');
  });

  await t.test('hostile host-reported strings render as text and nothing executes', async () => {
    await page.goto(`${h.url}/#/host/web-02`);
    await page.waitForSelector('[data-host-page="web-02"] [data-diff]');
    await page.waitForSelector('[data-testid=events]');
    const text = await page.textContent('#app') ?? '';
    for (const s of [XSS_SCRIPT, XSS_IMG]) assert.ok(text.includes(s), `the page shows ${s} as text`);
    assert.equal(await page.textContent('[data-fact="Hostname"]'), XSS_IMG);
    assert.equal(await page.textContent('[data-fact="Kernel"]'), XSS_SCRIPT);
    assert.equal(await page.textContent('[data-fact="Container engine"]'), `podman ${XSS_IMG}`);
    const diffRows = await page.$$eval('[data-diff="container/web"] tr[data-field]', (rows) => rows.map((r) => Array.from(r.querySelectorAll('th, td'), (c) => c.textContent)));
    assert.deepEqual(diffRows, [
      ['image', 'nginx:1.27', XSS_IMG],
      [XSS_IMG, XSS_SCRIPT, JSON.stringify({ env: XSS_IMG }, null, 1)],
    ]);
    await assertNothingExecuted(page, 'host page web-02');
    await screenshot(page, 'host-drifted');

    await page.goto(`${h.url}/#/host/db-01`);
    await page.waitForSelector('[data-condition="Stalled"]');
    assert.ok((await page.textContent('[data-condition="Stalled"]'))?.includes(XSS_IMG));
    await assertNothingExecuted(page, 'host page db-01');

    await page.goto(`${h.url}/#/hosts?q=evil`);
    await expectRows(page, ['evil-01'], 'the host with a hostile place');
    assert.ok((await page.textContent('tr[data-host="evil-01"]'))?.includes(XSS_SCRIPT));
    await assertNothingExecuted(page, 'hosts table');
    await page.goto(`${h.url}/#/tags`);
    await page.waitForSelector('[data-testid=tag-tree]');
    await assertNothingExecuted(page, 'tag tree');
    await page.goto(`${h.url}/#/`);
    await page.waitForSelector('[data-count="Total"]');
    await assertNothingExecuted(page, 'overview');
  });

  await t.test('a refused head, the next retry and a failing unit\'s journal lines show on the host page, as text', async () => {
    await page.goto(`${h.url}/#/host/db-01`);
    await page.waitForSelector('[data-testid=head-notice] [data-refused]');
    assert.equal(await page.getAttribute('[data-testid=head-notice] [data-refused]', 'data-refused'), refusedHead);
    const notice = await page.textContent('[data-testid=head-notice]') ?? '';
    assert.match(notice, /Refused head ffffffff/);
    assert.match(notice, /GIT_UNTRUSTED/);
    assert.ok(notice.includes(XSS_SCRIPT), 'the refusal message is shown as text');
    assert.equal(await page.getAttribute('[data-testid=head-notice] [data-retry-at]', 'data-retry-at'), retryAt);
    await page.waitForSelector('[data-logs="unit/db.service"]');
    const diagnosis = await page.textContent('[data-logs="unit/db.service"]') ?? '';
    assert.match(diagnosis, /Last run: exit code 3/);
    assert.ok(diagnosis.includes(`db: cannot open ${XSS_IMG}`), 'the journal lines are shown as text');
    await assertNothingExecuted(page, 'db-01 host page');
    await screenshot(page, 'host-refused');
  });

  await t.test('a live change appears without a reload within 2 s', async () => {
    await page.goto(`${h.url}/#/`);
    await eventually('the overview', async () => (await cardCounts(page)).Drifted === 1);
    await page.waitForSelector('[data-live="on"]');
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const started = Date.now();
    web01.client.reportStatus(hostStatus('web-01', { place: 'prod/eu/web-01', tags: ['gpu'], applied: head, resources: [{ id: 'container/web', sync: 'Drifted', health: 'Healthy', diff: [{ field: 'state', desired: 'running', live: 'exited' }] }] }));
    await page.waitForFunction(() => document.querySelector('[data-count="Drifted"] .card-n')?.textContent === '2', null, { timeout: 2000 });
    const ms = Date.now() - started;
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'the page was not reloaded');
    assert.ok(ms <= 2000, `appeared after ${ms} ms`);
    t.diagnostic(`live update on the overview: ${ms} ms from report to screen`);

    // The host page follows its host live too.
    await page.goto(`${h.url}/#/host/web-01`);
    await page.waitForSelector('[data-host-page="web-01"] [data-diff="container/web"]');
    const started2 = Date.now();
    web01.client.reportStatus(hostStatus('web-01', { place: 'prod/eu/web-01', tags: ['gpu'], applied: head }));
    await page.waitForFunction(() => document.querySelector('[data-diff]') === null && document.querySelector('[data-host-page="web-01"] [data-sync="InSync"]') !== null, null, { timeout: 2000 });
    t.diagnostic(`live update on the host page: ${Date.now() - started2} ms`);
  });

  await t.test('the admin can ask a host to reconcile now from its page', async () => {
    await page.goto(`${h.url}/#/host/web-01`);
    await page.click('[data-action=reconcile]');
    await page.waitForSelector('.actions [role=status]');
    assert.match(await page.textContent('.actions [role=status]') ?? '', /Asked the agent/);
    await eventually('the reconcile-now message to reach the client', async () => web01.reconcileRequests.length > 0, 15_000);
  });

  await t.test('the viewer sees no mutating controls and the API refuses mutations', async () => {
    const viewer = await browser!.newPage();
    const viewerProblems = watchPageProblems(viewer);
    await signIn(viewer, h.url, h.viewerToken, '#/host/web-01');
    await viewer.waitForSelector('[data-host-page="web-01"]');
    assert.equal(await viewer.textContent('[data-role]'), 'viewer (read-only)');
    assert.equal(await viewer.locator('[data-action]').count(), 0, 'no reconcile button for the viewer');
    assert.equal(await viewer.locator('button:has-text("Reconcile")').count(), 0);
    const status = await viewer.evaluate(async (token) => (await fetch('/api/v1/hosts/web-01/reconcile', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' })).status, h.viewerToken);
    assert.equal(status, 403);
    assert.equal((await h.api('/api/v1/reconcile', { method: 'POST', body: { all: true }, token: h.viewerToken })).status, 403);
    await screenshot(viewer, 'host-viewer');
    assert.deepEqual(viewerProblems.filter((p) => !p.includes('403')), [], 'only the refused POST above logs an error');
    await viewer.close();
  });

  await t.test('works at phone width', async () => {
    const phone = await browser!.newPage({ width: 390, height: 844 });
    await signIn(phone, h.url, h.adminToken, '#/hosts');
    await expectRows(phone, ['app-01', 'db-01', 'evil-01', 'never-01', 'web-01', 'web-02'], 'all hosts on a phone');
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone screen`);
    await screenshot(phone, 'hosts-phone');
    await phone.goto(`${h.url}/#/`);
    await phone.waitForSelector('[data-count="Total"]');
    await screenshot(phone, 'overview-phone');
    await phone.close();
  });

  await t.test('keyboard: the hosts table is reachable and a host opens with Enter', async () => {
    await page.goto(`${h.url}/#/hosts`);
    await expectRows(page, ['app-01', 'db-01', 'evil-01', 'never-01', 'web-01', 'web-02'], 'all hosts');
    await page.focus('input[name=q]');
    await page.keyboard.type('db-01');
    await expectRows(page, ['db-01'], 'typed search');
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.textContent === 'db-01')) break;
    }
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-host-page="db-01"]');
  });

  assert.deepEqual(problems.filter((p) => !p.includes('401')), [], 'no script errors or CSP violations in the page');
});
