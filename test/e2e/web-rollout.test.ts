// The rollout page in headless Chromium against a real hub (in this process)
// with simulated agents: the overview shows the active rollout and links to
// its page; the page shows each wave's hosts pending, applying, done and
// failed, the soak countdown and the failure budget; an admin promotes the
// next wave with the page's control, a viewer sees no controls; hostile
// commit text renders as text; no script error or CSP violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireComponent } from '../harness/require.ts';
import { launchBrowser, missingBrowser, watchPageProblems } from '../harness/browser.ts';
import type { TestBrowser } from '../harness/browser.ts';
import { ADMIN, VIEWER } from '../integration/hub-harness.ts';
import { rollOutToCanary, startRolloutFleet } from '../integration/rollout-hub-fixture.ts';
import type { RolloutFleet } from '../integration/rollout-hub-fixture.ts';
import { missingWebBuild, screenshot, signIn, tempDir, webDist } from './web-hub.ts';
import { rmSync } from 'node:fs';

const OLD = '6'.repeat(40);
const NEW = '7'.repeat(40);
const XSS = '"><img src=x onerror=window.__xss=1>';

test('rollout page: waves, soak countdown, budget, admin controls, overview banner, in headless Chromium', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'chromium', missingBrowser())) return;
  if (!requireComponent(t, 'web view build', missingWebBuild())) return;
  const dataDir = tempDir('web-rollout');
  const ids = Array.from({ length: 10 }, (_, i) => `web-${i}`);
  let browser: TestBrowser | null = null;
  let fleet: RolloutFleet | null = null;
  t.after(async () => {
    await browser?.close();
    await fleet?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  // web-9 fails the new commit: one failure, within the budget of 1.
  fleet = await startRolloutFleet({ dataDir, ids, initialRevision: OLD, webRoot: webDist, fails: (host, rev) => host === 'web-9' && rev === NEW });
  const { repo, hub } = fleet;
  const id = await rollOutToCanary(hub, repo, NEW, 'waves:\n  - name: canary\n    hosts: [web-0]\n  - name: everyone\n    percent: 100\nsoak: 1h\nfailureBudget: 1\n', `bump ${XSS}`);

  browser = await launchBrowser();
  const page = await browser.newPage();
  const problems = watchPageProblems(page);
  await signIn(page, hub.url, ADMIN);

  await t.test('the overview shows the active rollout and links to it', async () => {
    await page.waitForSelector('[data-testid="active-rollouts"]');
    const text = await page.textContent('[data-testid="active-rollouts"]');
    assert.match(text ?? '', new RegExp(`Rollout ${id}`));
    // The 1 h soak began when the canary wave closed, before the browser started (on a loaded machine, maybe over a minute before).
    assert.match(text ?? '', /soaking: everyone opens in 5\dm \d+s/);
    await page.click(`[data-testid="active-rollouts"] a[href="#/rollout/${id}"]`);
    await page.waitForSelector(`[data-rollout="${id}"] table.rollout-waves`);
  });

  await t.test('each wave with its hosts by progress, the soak countdown and the budget', async () => {
    const rows = await page.$$eval('table.rollout-waves tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('th,td')).map((c) => c.textContent?.trim() ?? '')));
    assert.deepEqual(rows.map((r) => r.slice(0, 2).concat(r.slice(3, 7))), [
      ['canary', '1', '0', '0', '1', '0'],
      ['everyone', '9', '9', '0', '0', '0'],
    ]);
    const first = (await page.textContent('[data-testid="rollout-where"]')) ?? '';
    assert.match(first, /soaking: everyone opens in 5\dm \d+s/);
    await page.waitForFunction((before) => document.querySelector('[data-testid="rollout-where"]')?.textContent !== before, first, { timeout: 15_000 });
    assert.match((await page.textContent('[data-testid="rollout-budget"]')) ?? '', /0 failed of 1 allowed/);
    assert.match((await page.textContent('h1')) ?? '', /running/);
    await screenshot(page, 'rollout-soaking');
  });

  await t.test('an admin promotes the next wave from the page; the one failure shows within the budget', async () => {
    await page.click('[data-testid="rollout-controls"] button[data-action="promote"]');
    await page.waitForFunction(() => document.querySelector('tr[data-wave="2"] td[data-progress="done"]')?.textContent === '8', undefined, { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('tr[data-wave="2"] td[data-progress="failed"]')?.textContent === '1', undefined, { timeout: 30_000 });
    await page.waitForFunction(() => /done/.test(document.querySelector('h1')?.textContent ?? ''), undefined, { timeout: 30_000 });
    assert.match((await page.textContent('[data-testid="rollout-budget"]')) ?? '', /1 failed of 1 allowed \(web-9\)/);
    assert.match((await page.textContent('ul.rollout-history')) ?? '', /admin · promote/);
    assert.ok(await page.$('li[data-host="web-9"]'), 'the failed host is listed');
    assert.equal(await page.$('[data-testid="rollout-controls"]'), null, 'a finished rollout has no controls');
    await screenshot(page, 'rollout-done');
  });

  await t.test('hostile commit text is text; a viewer sees no controls', async () => {
    assert.ok(((await page.textContent(`[data-rollout="${id}"]`)) ?? '').includes(XSS));
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    const viewer = await browser!.newPage();
    await signIn(viewer, hub.url, VIEWER, `#/rollout/${id}`);
    await viewer.waitForSelector('table.rollout-waves');
    assert.equal(await viewer.$('[data-testid="rollout-controls"]'), null);
    await viewer.close();
    assert.deepEqual(problems, []);
  });
});
