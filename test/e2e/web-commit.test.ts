// The commit page in headless Chromium against a real hub process reading a
// real Git repo: the overview's head links to it, it says how many hosts the
// commit changes and where ("This commit changes 5 of 6 hosts: prod/eu 3,
// prod/us 2; …"), lists each affected host's resources with their field diffs,
// leaves unaffected hosts out, renders hostile repo text as text, and runs
// with no script error or CSP violation. Screenshots go to test-artifacts/web/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { requireComponent } from '../harness/require.ts';
import { launchBrowser, missingBrowser, watchPageProblems } from '../harness/browser.ts';
import type { TestBrowser } from '../harness/browser.ts';
import { eventually, makeFleetRepo, missingWebBuild, screenshot, signIn, startHubProcess, tempDir } from './web-hub.ts';
import type { HubProcess } from './web-hub.ts';

const XSS_IMG = '"><img src=x onerror=window.__xss=1>';
const app = (image: string) => `containers:\n  web:\n    image: ${image}\n    network: host\n`;

test('commit page: the impact of the head, linked from the overview, in headless Chromium', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'chromium', missingBrowser())) return;
  if (!requireComponent(t, 'web view build', missingWebBuild())) return;

  const work = tempDir('web-commit');
  const repo = makeFleetRepo(join(work, 'fleet'), {
    'prod/eu/app.yaml': app('nginx:1.25'),
    'prod/us/app.yaml': app('nginx:1.25'),
    'prod/us/motd.yaml': 'files:\n  /etc/motd:\n    content: "hello\\n"\n',
    'prod/eu/eu-1/host.yaml': '',
    'prod/eu/eu-2/host.yaml': '',
    'prod/eu/eu-3/host.yaml': '',
    'prod/us/us-1/host.yaml': '',
    'prod/us/us-2/host.yaml': '',
    'staging/st-1/host.yaml': '',
  });
  let hub: HubProcess | null = null;
  let browser: TestBrowser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  hub = await startHubProcess({ repo: repo.dir });
  const h = hub;
  await eventually('the hub to read the first head', async () => (await h.api<{ head: { revision: string } | null }>('/api/v1/summary')).body.head?.revision === repo.head);

  const second = repo.commit({ 'prod/eu/app.yaml': app('nginx:1.27'), 'prod/us/motd.yaml': `files:\n  /etc/motd:\n    content: '${XSS_IMG}'\n` }, 'eu: nginx 1.27; us: a new motd');
  const ready = await eventually('the impact of the second head', async () => {
    const r = await h.api<{ status: string; impact?: { affected: number } }>(`/api/v1/commits/${second}/impact`);
    return r.body.status === 'ready' ? r.body : undefined;
  }, 30_000);
  assert.equal(ready.impact?.affected, 5);

  browser = await launchBrowser();
  const page = await browser.newPage();
  const problems = watchPageProblems(page);
  await signIn(page, h.url, h.viewerToken);

  await t.test('the overview links the head to its commit page', async () => {
    await page.waitForSelector('[data-testid="head-impact"]');
    assert.equal(await page.getAttribute('[data-testid="head-impact"]', 'href'), `#/commit/${second}`);
    await page.click('[data-testid="head-impact"]');
    await page.waitForSelector('[data-testid="impact-summary"]');
  });

  await t.test('the summary says how many hosts change, where, and what per host', async () => {
    assert.equal(
      (await page.textContent('[data-testid="impact-summary"]'))?.trim(),
      'This commit changes 5 of 6 hosts: prod/eu 3, prod/us 2; 1 container changed per host (on 3), 1 file changed per host (on 2).',
    );
    const resources = await page.textContent('[data-testid="impact-resources"]');
    assert.match(resources ?? '', /container\/web changed on 3 hosts: image/);
    assert.match(resources ?? '', /file\/\/etc\/motd changed on 2 hosts: content/);
    assert.match(await page.textContent('[data-testid="impact-tags"]') ?? '', /prod 5\/5/);
    assert.match(await page.textContent('section.commit') ?? '', new RegExp(`Compared with the previous head ${repo.head.slice(0, 10)}`));
    assert.equal(await page.getAttribute('[data-testid="impact-from"]', 'href'), `#/commit/${repo.head}`);
  });

  await t.test('each affected host with its resources and field diffs; unaffected hosts are not listed', async () => {
    const hosts = await page.$$eval('[data-testid="impact-hosts"] > li', (items) => items.map((i) => i.getAttribute('data-host')));
    assert.deepEqual(hosts, ['eu-1', 'eu-2', 'eu-3', 'us-1', 'us-2']);
    const eu2 = await page.textContent('li[data-host="eu-2"]');
    assert.match(eu2 ?? '', /container\/web/);
    assert.match(eu2 ?? '', /image: nginx:1\.25 → nginx:1\.27/);
    assert.equal(await page.getAttribute('li[data-host="eu-2"] a', 'href'), '#/host/eu-2');
    await screenshot(page, 'commit-impact');
  });

  await t.test('hostile repo text renders as text and nothing executes', async () => {
    const us1 = await page.textContent('li[data-host="us-1"] [data-resource="file//etc/motd"]');
    assert.ok(us1?.includes(XSS_IMG), us1 ?? '');
    assert.equal(await page.$$eval('section.commit img', (imgs) => imgs.length), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  });

  assert.deepEqual(problems, [], 'no script errors or CSP violations in the page');

  await t.test('an unknown commit says so', async () => {
    await page.goto(`${h.url}/#/commit/${'0'.repeat(40)}`);
    await page.waitForSelector('[data-testid="impact-error"]');
    assert.match(await page.textContent('[data-testid="impact-error"]') ?? '', /no impact for 0{40}/);
    // The browser logs the API's 404 itself; nothing else went wrong.
    assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), []);
  });
});
