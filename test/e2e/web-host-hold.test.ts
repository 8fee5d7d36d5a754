// The host page in headless Chromium against a real hub (in this process)
// with simulated agents: a host whose wave is not open says which rollout
// holds it, in which wave and what it was released, linking to the rollout's
// page; the canary says its rollout released the new commit; each resource
// adoption took over carries a badge whose tooltip explains it; an agent's
// hostile adoption text renders as text; the hosts list shows no adoption.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { requireComponent } from '../harness/require.ts';
import { launchBrowser, missingBrowser, watchPageProblems } from '../harness/browser.ts';
import type { TestBrowser } from '../harness/browser.ts';
import type { ResourceStatus } from '../../shared/status.ts';
import { VIEWER } from '../integration/hub-harness.ts';
import { rollOutToCanary, startRolloutFleet } from '../integration/rollout-hub-fixture.ts';
import type { RolloutFleet } from '../integration/rollout-hub-fixture.ts';
import { missingWebBuild, screenshot, signIn, tempDir, webDist } from './web-hub.ts';

const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);
const XSS = '<img src=x onerror=__xss=1>';

const adopted: ResourceStatus[] = [
  { id: 'container/app', sync: 'InSync', health: 'Healthy', diff: [], adoption: 'Adopted' },
  { id: 'container/db', sync: 'Drifted', health: 'Healthy', diff: [{ field: 'image', desired: 'postgres:16', live: 'postgres:15' }], message: 'adopt: replace (differs: image)', adoption: 'Replace' },
  { id: 'file/etc/app.conf', sync: 'InSync', health: 'Healthy', diff: [], adoption: 'Rewrite' },
  { id: 'unit/odd.service', sync: 'InSync', health: 'Healthy', diff: [], adoption: XSS },
  { id: 'unit/own.service', sync: 'InSync', health: 'Healthy', diff: [] },
];

test('host page: the rollout that holds the host and each resource\'s adoption, in headless Chromium', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'chromium', missingBrowser())) return;
  if (!requireComponent(t, 'web view build', missingWebBuild())) return;
  const dataDir = tempDir('web-host-hold');
  const ids = ['page-0', 'page-1', 'page-2'];
  let browser: TestBrowser | null = null;
  let fleet: RolloutFleet | null = null;
  t.after(async () => {
    await browser?.close();
    await fleet?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  fleet = await startRolloutFleet({ dataDir, ids, initialRevision: OLD, webRoot: webDist, resources: (host) => (host === 'page-1' ? adopted : [{ id: 'container/app', sync: 'InSync', health: 'Healthy', diff: [] }]) });
  const { repo, hub } = fleet;
  const id = await rollOutToCanary(hub, repo, NEW, 'waves:\n  - name: canary\n    hosts: [page-0]\n  - name: everyone\n    percent: 100\nsoak: 1h\n');

  browser = await launchBrowser();
  const page = await browser.newPage();
  const problems = watchPageProblems(page);
  await signIn(page, hub.url, VIEWER, '#/host/page-1');

  await t.test('a held host names its rollout, wave and release, and links to the rollout page', async () => {
    await page.waitForSelector('[data-testid="rollout-hold"]');
    assert.equal(await page.getAttribute('[data-testid="rollout-hold"]', 'data-held'), 'true');
    assert.equal((await page.textContent('[data-testid="rollout-hold"]'))?.trim(), `Held by rollout ${id} (wave 2 of 2 “everyone”, released ${OLD.slice(0, 10)}). The rollout is running.`);
    assert.equal(await page.getAttribute('[data-testid="rollout-hold"] code', 'title'), OLD);
    await screenshot(page, 'host-held-adopted');
    await page.click(`[data-testid="rollout-hold"] a[href="#/rollout/${id}"]`);
    await page.waitForSelector(`[data-rollout="${id}"] table.rollout-waves`);
  });

  await t.test('each adopted resource has a badge whose tooltip explains it; hostile text is text', async () => {
    await page.goto(`${hub.url}/#/host/page-1`);
    await page.waitForSelector('tr[data-resource="container/app"]');
    const badges = await page.$$eval('table.resources tbody tr', (trs) =>
      trs.map((tr) => {
        const b = tr.querySelector('[data-adoption]');
        return [tr.getAttribute('data-resource'), b?.textContent ?? null, b?.getAttribute('title') ?? null];
      }),
    );
    assert.deepEqual(badges.map(([r, label]) => [r, label]), [
      ['container/app', 'adopted'],
      ['container/db', 'adopted: replace'],
      ['file/etc/app.conf', 'adopted: rewrite'],
      ['unit/odd.service', `adoption: ${XSS}`],
      ['unit/own.service', null],
    ]);
    assert.match(badges[0]![2]!, /taken over as it was; nothing was recreated/);
    assert.match(badges[1]![2]!, /replaced \(the one adoption with downtime\)/);
    assert.match(badges[2]![2]!, /written as declared/);
    assert.equal(await page.$('table.resources img'), null, 'the hostile adoption state is not markup');
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  });

  await t.test('the canary says its rollout released the new commit; the hosts list shows no adoption', async () => {
    await page.goto(`${hub.url}/#/host/page-0`);
    await page.waitForSelector('[data-host-page="page-0"] [data-testid="rollout-hold"]');
    assert.equal(await page.getAttribute('[data-testid="rollout-hold"]', 'data-held'), 'false');
    assert.match((await page.textContent('[data-testid="rollout-hold"]')) ?? '', new RegExp(`^Released by rollout ${id} \\(wave 1 of 2 “canary”, released ${NEW.slice(0, 10)}\\)`));
    assert.equal(await page.$('[data-adoption]'), null);
    await page.goto(`${hub.url}/#/hosts`);
    await page.waitForSelector('a[href="#/host/page-1"]');
    assert.equal(await page.$('[data-adoption]'), null);
    assert.equal(await page.$('[data-testid="rollout-hold"]'), null);
    assert.deepEqual(problems, []);
  });
});
