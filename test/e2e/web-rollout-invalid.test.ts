// An invalid rollout.yaml in the web view, in headless Chromium against a real
// hub (in this process) with simulated agents: the overview lists its issues
// apart from the tree's validation issues and does not say agents refuse the
// commit (they do not; the hub holds the hosts below it), and the page of a
// host below it says it is held, by which file, at which revision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { requireComponent } from '../harness/require.ts';
import { launchBrowser, missingBrowser, watchPageProblems } from '../harness/browser.ts';
import type { TestBrowser } from '../harness/browser.ts';
import type { DeclaredHost } from '../../hub/git/fleet-repo-view.ts';
import { VIEWER } from '../integration/hub-harness.ts';
import { readHead, startRolloutFleet } from '../integration/rollout-hub-fixture.ts';
import type { RolloutFleet } from '../integration/rollout-hub-fixture.ts';
import { eventually, missingWebBuild, screenshot, signIn, tempDir, webDist } from './web-hub.ts';

const OLD = '4'.repeat(40);
const NEW = '5'.repeat(40);

test('an invalid rollout.yaml: its issues apart on the overview, and the held host says why, in headless Chromium', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'chromium', missingBrowser())) return;
  if (!requireComponent(t, 'web view build', missingWebBuild())) return;
  const dataDir = tempDir('web-rollout-invalid');
  let browser: TestBrowser | null = null;
  let fleet: RolloutFleet | null = null;
  t.after(async () => {
    await browser?.close();
    await fleet?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  fleet = await startRolloutFleet({ dataDir, ids: ['bad-0', 'ok-0'], initialRevision: OLD, webRoot: webDist });
  const { repo, hub } = fleet;
  const hosts: DeclaredHost[] = [
    { id: 'bad-0', dir: 'prod/eu/bad-0', pathTags: ['prod', 'prod/eu'], crossTags: [] },
    { id: 'ok-0', dir: 'prod/us/ok-0', pathTags: ['prod', 'prod/us'], crossTags: [] },
  ];
  const rolloutIssue = 'prod/eu/rollout.yaml:2:3  INVALID_VALUE  waves: expected an array';
  const treeIssue = 'prod/us/ok-0/host.yaml:1:1  UNKNOWN_KEY  <b>colour</b>';
  repo.head = { ...repo.head, revision: NEW, hosts, issues: [treeIssue, rolloutIssue], rollouts: { scopes: [], invalid: ['prod/eu'] } };
  await readHead(hub);
  await eventually('bad-0 held by the invalid file', async () => hub.rollouts!.invalidPolicyOf('bad-0') !== null);

  browser = await launchBrowser();
  const page = await browser.newPage();
  const problems = watchPageProblems(page);
  await signIn(page, hub.url, VIEWER, '#/');

  await t.test('the overview lists rollout.yaml issues apart, without "agents refuse this commit"', async () => {
    await page.waitForSelector('[data-testid="rollout-issues"]');
    const rollout = (await page.textContent('[data-testid="rollout-issues"] summary'))?.trim();
    assert.equal(rollout, '1 rollout.yaml issue(s) at head — agents still apply this commit; the hosts below an invalid rollout.yaml are held at what they run');
    assert.deepEqual(await page.$$eval('[data-testid="rollout-issues"] li', (li) => li.map((x) => x.textContent)), [rolloutIssue]);
    assert.equal((await page.textContent('[data-testid="head-issues"] summary'))?.trim(), '1 validation issue(s) at head — agents refuse this commit');
    assert.deepEqual(await page.$$eval('[data-testid="head-issues"] li', (li) => li.map((x) => x.textContent)), [treeIssue], 'the markup in an issue is text');
    await screenshot(page, 'overview-rollout-issues');
  });

  await t.test('the held host says which file holds it and at which revision; the other host says nothing', async () => {
    await page.goto(`${hub.url}/#/host/bad-0`);
    await page.waitForSelector('[data-testid="rollout-policy-invalid"]');
    assert.equal((await page.textContent('[data-testid="rollout-policy-invalid"]'))?.trim(), `Held: prod/eu/rollout.yaml is invalid at the head, so the hub keeps this host at ${OLD.slice(0, 10)} until the file is fixed (its validation issues are on the overview).`);
    assert.equal(await page.getAttribute('[data-testid="rollout-policy-invalid"] code[title]', 'title'), OLD);
    await screenshot(page, 'host-held-invalid-rollout');
    await page.goto(`${hub.url}/#/host/ok-0`);
    await page.waitForSelector('[data-host-page="ok-0"]');
    assert.equal(await page.$('[data-testid="rollout-policy-invalid"]'), null);
    assert.deepEqual(problems, []);
  });
});
