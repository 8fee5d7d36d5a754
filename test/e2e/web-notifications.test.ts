// The overview's Notifications block in headless Chromium, against a real hub
// process whose notify: config has a sink that works and one whose receiver
// refuses with a hostile body: after a host goes offline the block shows the
// delivered and the failed message per sink and the refusal as text (never
// markup); a viewer sees it too; no sink URL in the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireComponent } from '../harness/require.ts';
import { launchBrowser, missingBrowser, watchPageProblems } from '../harness/browser.ts';
import type { TestBrowser } from '../harness/browser.ts';
import { startReceiver } from '../harness/http-receiver.ts';
import type { Receiver } from '../harness/http-receiver.ts';
import { eventually, missingWebBuild, ReportingHost, screenshot, signIn, startHubProcess, tempDir } from './web-hub.ts';
import type { HubProcess } from './web-hub.ts';
import type { NotificationsView } from '../../hub/notify/notifications.ts';

const XSS_IMG = '"><img src=x onerror=window.__xss=1>';

test('web view: the overview shows each notification sink\'s deliveries and last error, as text', { timeout: 120_000 }, async (t) => {
  if (!requireComponent(t, 'chromium', missingBrowser())) return;
  if (!requireComponent(t, 'web view build', missingWebBuild())) return;
  const work = tempDir('web-notify');
  let hub: HubProcess | null = null;
  let browser: TestBrowser | null = null;
  const receivers: Receiver[] = [];
  let host: ReportingHost | null = null;
  t.after(async () => {
    await host?.stop().catch(() => undefined);
    await browser?.close();
    await hub?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    rmSync(work, { recursive: true, force: true });
  });
  const good = await startReceiver();
  const bad = await startReceiver(() => ({ status: 400, body: { message: XSS_IMG } }));
  receivers.push(good, bad);
  const secret = join(work, 'hook.secret');
  writeFileSync(secret, 'hook-secret-0123456789abcdef\n');
  hub = await startHubProcess({
    extraConfig: {
      notify: `{ groupWindow: 100ms, sinks: { ops: { type: webhook, url: "${good.url}/ops", secretFile: "${secret}" }, refuses: { type: webhook, url: "${bad.url}/refuses", secretFile: "${secret}" } }, rules: [{ name: all, events: [offline], sinks: [ops, refuses] }] }`,
    },
  });
  const h = hub;
  host = new ReportingHost(h, 'kiosk-01', { place: 'kiosks' });
  await eventually('the host to connect', async () => (await h.api<{ connectivity: Record<string, number> }>('/api/v1/summary')).body.connectivity.Online === 1, 30_000);
  await host.stop();
  host = null;
  await eventually('both deliveries to be done', async () => {
    const v = (await h.api<NotificationsView>('/api/v1/notifications')).body;
    return v.sinks.find((s) => s.name === 'ops')?.delivered === 1 && v.sinks.find((s) => s.name === 'refuses')?.failed === 1;
  }, 30_000);

  browser = await launchBrowser();
  const page = await browser.newPage();
  const problems = watchPageProblems(page);
  for (const token of [h.adminToken, h.viewerToken]) {
    await signIn(page, h.url, token);
    const block = page.locator('[data-testid=notifications]');
    await block.waitFor();
    const cells = async (sink: string) => page.$$eval(`[data-testid=notifications] tr[data-sink="${sink}"] td`, (tds) => tds.map((td) => td.textContent ?? ''));
    const ops = await cells('ops');
    assert.deepEqual(ops.slice(0, 7), ['ops', 'webhook', '1', '0', '0', '0', '0']);
    assert.equal(ops[7], '—');
    const refuses = await cells('refuses');
    assert.deepEqual(refuses.slice(0, 7), ['refuses', 'webhook', '0', '0', '1', '0', '0']);
    assert.match(refuses[7]!, /^sink refuses: HTTP 400 .*<img src=x onerror=window\.__xss=1>/, 'the receiver\'s answer, shown as text');
    assert.equal(await page.locator('[data-testid=notifications] img').count(), 0, 'no element from the receiver\'s answer');
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined);
    const text = await block.textContent();
    assert.ok(!text!.includes(good.url) && !text!.includes(bad.url), 'no sink URL in the page');
    if (token === h.adminToken) await screenshot(page, 'notifications-block');
    await page.click('header.top button.secondary');
  }
  assert.deepEqual(problems, []);
});
