// A real agent (the `gitfleet agent` CLI) on the real Docker engine, reporting
// to a real hub process, watched in headless Chromium: drift made by hand on a
// real container shows up live on the host page with its field diff (drift:
// report); "reconcile now" is a manual sync that heals it at once; a
// correctable drift is healed by the agent alone and shown healed, live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { requireComponent } from '../harness/require.ts';
import { launchBrowser, missingBrowser, watchPageProblems } from '../harness/browser.ts';
import type { TestBrowser } from '../harness/browser.ts';
import { DockerTestHarness, TEST_IMAGE, dockerMissingReason } from '../harness/docker.ts';
import { eventually, makeFleetRepo, missingWebBuild, projectRoot, screenshot, signIn, startHubProcess, tempDir } from './web-hub.ts';
import type { HubProcess } from './web-hub.ts';

interface HostDetail {
  summary: { sync: string; connectivity: string };
  status: { resources: Array<{ id: string; sync: string; diff: Array<{ field: string; desired: unknown; live: unknown }> }> } | null;
  attempts: Array<{ trigger: string; result: string; driftCorrected: string[] }>;
}

/** The text of each cell of a diff table's rows on the host page. */
async function diffRows(page: Page, resource: string): Promise<string[][]> {
  return page.$$eval(`[data-diff="${resource}"] tr[data-field]`, (rows) => rows.map((r) => Array.from(r.querySelectorAll('th, td'), (c) => (c.textContent ?? '').trim())));
}

test('web view: drift on a real container, live on the host page, and reconcile now', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'chromium', missingBrowser())) return;
  if (!requireComponent(t, 'web view build', missingWebBuild())) return;
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;

  const docker = new DockerTestHarness();
  const reported = docker.name('reported');
  const corrected = docker.name('corrected');
  const hostId = `webdrift-${docker.runId}`;
  const base = { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', labels: docker.labels, stop_grace_period: '1s' };
  const work = tempDir('web-drift');
  const yaml = JSON.stringify({ containers: { [reported]: { ...base, drift: 'report' }, [corrected]: base } }, null, 1);
  const repo = makeFleetRepo(join(work, 'fleet'), { [`lab/${hostId}/host.yaml`]: '', [`lab/${hostId}/containers.yaml`]: yaml });

  let hub: HubProcess | null = null;
  let agent: ChildProcess | null = null;
  let browser: TestBrowser | null = null;
  let agentLog = '';
  t.after(async () => {
    await browser?.close();
    if (agent && agent.exitCode === null) {
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      const timer = setTimeout(() => agent!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await hub?.stop();
    await docker.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  hub = await startHubProcess({ repo: repo.dir });
  const h = hub;
  // Long poll and drift-check intervals: everything after the first converge is driven by Docker events and the hub.
  agent = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'cli', 'main.ts'), 'agent', '--repo', repo.dir, '--host', hostId, '--state-dir', join(work, 'agent-state')], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GITFLEET_AGENT_HUB: h.agentUrl, GITFLEET_TOKEN: h.enrollmentToken, GITFLEET_INTERVAL: '1h', GITFLEET_DRIFT_INTERVAL: '1h', GITFLEET_HEALTH_SETTLE: '0s', GITFLEET_FILES_ALLOW: work },
  });
  agent.stdout!.on('data', (c: Buffer) => (agentLog = (agentLog + c.toString()).slice(-20_000)));
  agent.stderr!.on('data', (c: Buffer) => (agentLog = (agentLog + c.toString()).slice(-20_000)));
  const detail = async () => (await h.api<HostDetail>(`/api/v1/hosts/${hostId}`)).body;
  await eventually(
    'the agent to converge and report InSync',
    async () => {
      const d = await detail();
      return d.summary?.sync === 'InSync' && d.summary.connectivity === 'Online' && d.status?.resources.length === 2;
    },
    60_000,
    200,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\nagent log:\n${agentLog}`);
  });
  assert.equal((await docker.inspect(reported)).State.Running, true);

  browser = await launchBrowser();
  const page = await browser.newPage();
  const problems = watchPageProblems(page);
  await signIn(page, h.url, h.adminToken, `#/host/${hostId}`);
  await page.waitForSelector(`[data-host-page="${hostId}"] [data-resource="container/${reported}"] [data-sync="InSync"]`);
  await page.waitForSelector('[data-live="on"]');
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

  await t.test('a container stopped by hand shows up live with its diff (drift: report)', async () => {
    const started = Date.now();
    await docker.stop(reported);
    await page.waitForSelector(`[data-diff="container/${reported}"]`, { timeout: 30_000 });
    const ms = Date.now() - started;
    t.diagnostic(`docker stop → diff on the host page: ${ms} ms (Docker event → agent pass → report → hub → SSE → page)`);
    assert.deepEqual(await diffRows(page, `container/${reported}`), [['state', 'running', 'exited']]);
    assert.equal(await page.getAttribute(`[data-resource="container/${reported}"] [data-sync]`, 'data-sync'), 'Drifted');
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'no reload');
    await screenshot(page, 'host-real-drift');
  });

  await t.test('reconcile now is a manual sync: the reported drift is healed at once and the page shows it live', async () => {
    // drift: report means "tell me, do not fix it by yourself"; the button is the operator saying "fix it now",
    // as a manual sync does in Argo CD. Nothing heals on its own before the click.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await docker.inspect(reported)).State.Running, false, 'nothing reconciles on its own');
    const started = Date.now();
    await page.click('[data-action=reconcile]');
    await page.waitForSelector('.actions [role=status]');
    assert.match((await page.textContent('.actions [role=status]')) ?? '', /Asked the agent/);
    await page.waitForFunction(
      ({ name }) =>
        document.querySelector(`[data-resource="container/${name}"] [data-sync]`)?.getAttribute('data-sync') === 'InSync' &&
        document.querySelector(`[data-diff="container/${name}"]`) === null &&
        Array.from(document.querySelectorAll('table.attempts tbody tr')).some((r) => r.children[1]?.textContent === 'manual'),
      { name: reported },
      { timeout: 30_000 },
    );
    t.diagnostic(`reconcile now → healed on the host page: ${Date.now() - started} ms`);
    assert.equal((await docker.inspect(reported)).State.Running, true, 'the container runs again');
    const d = await detail();
    assert.ok(d.attempts.some((a) => a.trigger === 'manual' && a.driftCorrected.some((l) => l.includes(reported))), 'recorded as a drift correction of a manual sync');
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'no reload');
  });

  await t.test('a correctable drift is healed by the agent and the page shows it healed, live', async () => {
    const startedBefore = (await docker.inspect(corrected)).State.StartedAt;
    await docker.stop(corrected);
    // Done when the page lists an attempt whose drift-corrected steps name this container, and shows it in sync.
    await page.waitForFunction(
      (name) =>
        Array.from(document.querySelectorAll('table.attempts tbody tr')).some((r) => Array.from(r.querySelectorAll('details')).some((d) => d.querySelector('summary')?.textContent?.includes('drift-corrected') && d.textContent?.includes(name))) &&
        document.querySelector(`[data-resource="container/${name}"] [data-sync]`)?.getAttribute('data-sync') === 'InSync',
      corrected,
      { timeout: 30_000 },
    );
    const info = await docker.inspect(corrected);
    assert.equal(info.State.Running, true, 'the agent started it again');
    assert.notEqual(info.State.StartedAt, startedBefore, 'started again after the stop');
    const d = await detail();
    assert.ok(d.attempts.some((a) => a.driftCorrected.some((s) => s.includes(corrected))), 'the attempt records the correction as drift-corrected');
    await screenshot(page, 'host-real-corrected');
  });

  assert.deepEqual(problems, []);
});
