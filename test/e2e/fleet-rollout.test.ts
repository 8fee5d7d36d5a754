// A staged rollout on a real fleet: 3 systemd hosts (nspawn), each with its
// own dockerd and the agent installed by packaging/install.sh, a hub reading
// the fleet repository from a git daemon on loopback, and a `rollout.yaml`
// at the root (one canary host, then the rest, 5 s soak, no failure allowed,
// rollback on halt). Checked through the hub's API, the way an operator sees
// it: a good commit reaches the canary first and the others only after the
// canary is Ready and the soak is over; a bad commit (a container that exits
// at once, so the canary's agent fails it and rolls back) halts
// the rollout in the canary, and the other two hosts never attempt it —
// although their agents poll the repository and see it as the head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable } from '../harness/nspawn.ts';
import type { SystemdHost } from '../harness/nspawn.ts';
import { dockerMissingReason } from '../harness/docker.ts';
import { PrivateDockerd } from '../harness/private-dockerd.ts';
import type { HostSummary } from '../harness/faults.ts';
import { FleetServers } from '../harness/fleet-servers.ts';
import { missingGitServer, tempDir } from '../harness/git-servers.ts';
import { bundleMissing, installAgent, sleep, waitFor } from './fleet-support.ts';

const run = randomBytes(3).toString('hex');
const hostIds = [1, 2, 3].map((n) => `gfr-${run}-${n}`) as [string, string, string];
const [canary, ...others] = hostIds;
const image = 'local/busybox:1';
const soakMs = 5000;
const policy = `waves:\n  - name: canary\n    hosts: [${canary}]\nsoak: ${soakMs / 1000}s\nfailureBudget: 0\nonHalt: rollback\n`;

interface Wave {
  name: string;
  hosts: number;
  openedAt: string | null;
  closedAt: string | null;
}
interface Rollout {
  id: string;
  revision: string;
  state: string;
  failed: string[];
  waves: Wave[];
}

/** Every host runs the same file and container; `command` is what breaks the bad commit. */
function fleetFiles(version: string, command = '["sleep", "3600"]'): Record<string, string> {
  const files: Record<string, string> = {
    'rollout.yaml': policy,
    'base.yaml': [
      'files:',
      '  /etc/gfr/version:',
      `    content: "${version} on \${host}\\n"`,
      'containers:',
      '  app:',
      `    image: ${image}`,
      `    command: ${command}`,
      '    network: none',
      '    init: true',
      `    env: { VERSION: "${version}" }`,
      '',
    ].join('\n'),
  };
  for (const id of hostIds) files[`${id}/host.yaml`] = '';
  return files;
}

test('staged rollout on 3 real hosts: a good commit goes canary then the rest; a bad one halts in the canary', { timeout: 300_000 }, async (t) => {
  if (!requireComponent(t, 'systemd hosts', systemdHostsAvailable())) return;
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  if (!requireComponent(t, 'git daemon', missingGitServer('daemon'))) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  const work = tempDir('fleet-rollout');
  const hosts = new Map<string, SystemdHost>();
  const engines = new Map(hostIds.map((id) => [id, new PrivateDockerd()]));
  const servers = new FleetServers(work);
  const repo = servers.repo;
  t.after(async () => {
    await Promise.all([...hosts.values()].map((h) => h.poweroff().catch(() => undefined)));
    await servers.stop();
    await Promise.all([...engines.values()].map((e) => e.dispose().catch(() => undefined)));
    rmSync(work, { recursive: true, force: true });
  });

  // --- each host's own engine (with the test image), the Git server, the hub
  let started = Date.now();
  await Promise.all([...engines.values()].map(async (e) => {
    await e.start();
    await e.copyImage(image);
  }));
  t.diagnostic(`3 private dockerds with ${image} in ${Date.now() - started} ms`);
  await servers.startGit();
  const repoUrl = servers.repoUrl;
  const first = repo.commit(fleetFiles('v1'), 'v1');
  repo.push();
  const hub = await servers.startHub('1s'); // the webhook brings each new head
  const summaries = () => hub.summaries();
  const rolloutOf = async (revision: string) => (await hub.api<{ rollouts: Rollout[] }>('/api/v1/rollouts')).rollouts.find((r) => r.revision === revision);
  const attempts = async (id: string) => (await hub.api<{ attempts: { trigger: string; revision: string; result: string; reason?: string; message?: string }[] }>(`/api/v1/hosts/${id}`)).attempts;
  const attemptedRevisions = async (id: string) => (await attempts(id)).map((a) => a.revision);
  const onDisk = (id: string) => readFileSync(join(hosts.get(id)!.rootDir, 'etc/gfr/version'), 'utf8');
  const containerEnv = async (id: string) => (await new Dockerode({ socketPath: engines.get(id)!.socket }).getContainer('app').inspect()).Config.Env ?? [];
  const push = (revision: string) => servers.push(revision);
  const applied = (all: Map<string, HostSummary>, id: string, revision: string) => {
    const h = all.get(id);
    return h !== undefined && h.connectivity === 'Online' && h.lastAppliedRevision === revision && h.sync === 'InSync';
  };
  const rolloutDone = (revision: string, what: string) =>
    waitFor(what, 90_000, async () => {
      const r = await rolloutOf(revision);
      return r?.state === 'done' ? r : undefined;
    }, 200);

  // --- 3 hosts, each bound to its own engine, the agent installed by install.sh
  started = Date.now();
  await Promise.all(hostIds.map(async (id) => hosts.set(id, await bootHost(id, { bindDocker: false, binds: [{ host: engines.get(id)!.socket, guest: '/var/run/docker.sock' }] }))));
  t.diagnostic(`3 hosts booted in ${Date.now() - started} ms`);
  // The agents poll the repository every 3 s: they see every head, the bad one too, at once.
  const agentArgs = (id: string) => ['--repo', repoUrl, '--host', id, '--hub', hub.agentUrl, '--token', hub.enrollment, '--interval', '3s', '--health-timeout', '20s'];
  const installs = await Promise.all(hostIds.map((id) => installAgent(hosts.get(id)!, agentArgs(id))));
  for (const r of installs) assert.equal(r.code, 0, r.stderr);

  // --- the first commit: every host runs nothing yet, so it is staged too
  await rolloutDone(first, 'the first commit rolled out to every host');
  await waitFor('every host in sync at the first commit', 30_000, async () => {
    const all = await summaries();
    return hostIds.every((id) => applied(all, id, first)) ? true : undefined;
  });
  t.diagnostic(`install → first commit rolled out (canary, 5 s soak, the rest): ${Date.now() - started} ms`);

  // --- a good commit: the canary first; the others stay at v1 until it is Ready and soaked
  const good = repo.commit(fleetFiles('v2'), 'v2');
  const pushedAt = Date.now();
  await push(good);
  // waitFor retries a probe that throws, so ordering violations are collected and asserted after.
  let canaryAtGood = 0;
  // When a look at the hub last began that then showed the canary not yet in sync: it got there after this.
  let canaryNotYetAt = pushedAt;
  let othersAtGood = 0;
  const violations: string[] = [];
  await waitFor('every host at the good commit', 60_000, async () => {
    const lookedAt = Date.now();
    const all = await summaries();
    const now = Date.now();
    if (canaryAtGood === 0) {
      if (applied(all, canary, good)) canaryAtGood = now;
      else canaryNotYetAt = lookedAt;
    }
    const othersNow = others.filter((id) => all.get(id)?.lastAttemptedRevision === good || all.get(id)?.lastAppliedRevision === good);
    if (othersNow.length > 0 && othersAtGood === 0) {
      othersAtGood = now;
      if (canaryAtGood === 0) violations.push(`${othersNow.join(', ')} reached the good commit before the canary was in sync: ${JSON.stringify([...all.values()])}`);
    }
    if (canaryAtGood > 0 && othersAtGood === 0) {
      // The canary is at the new revision; the others must still be at the old one.
      for (const id of others) if (all.get(id)?.lastAppliedRevision !== first) violations.push(`${id} is not at the first commit while only the canary may move: ${JSON.stringify(all.get(id))}`);
    }
    return hostIds.every((id) => applied(all, id, good)) ? true : undefined;
  }, 100);
  assert.deepEqual(violations, []);
  t.diagnostic(`good commit: canary in sync ${canaryAtGood - pushedAt} ms after the push, the others seen moving ${othersAtGood - canaryAtGood} ms later, all in sync ${Date.now() - pushedAt} ms after the push`);
  // The canary got in sync after canaryNotYetAt and the others were seen moving at othersAtGood: if even that
  // span is shorter than the soak, they moved before it was over. (A loaded machine only lengthens the span.)
  assert.ok(othersAtGood - canaryNotYetAt >= soakMs, `the others were seen moving at most ${othersAtGood - canaryNotYetAt} ms after the canary got in sync, before the ${soakMs} ms soak was over`);
  const goodRollout = await rolloutDone(good, 'the good rollout done');
  assert.deepEqual(goodRollout.waves.map((w) => w.hosts), [1, 2]);
  const [w1, w2] = goodRollout.waves as [Wave, Wave];
  assert.ok(Date.parse(w2.openedAt!) - Date.parse(w1.closedAt!) >= soakMs, `wave 2 opened ${Date.parse(w2.openedAt!) - Date.parse(w1.closedAt!)} ms after the canary wave closed`);
  for (const id of hostIds) {
    assert.equal(onDisk(id), `v2 on ${id}\n`);
    assert.ok((await containerEnv(id)).includes('VERSION=v2'), `${id}'s container runs v2`);
  }

  // --- a bad commit: the container exits at once → the canary fails it and rolls back, the rollout halts
  const bad = repo.commit(fleetFiles('v3', '["sh", "-c", "exit 3"]'), 'v3 (container exits at once)');
  const badAt = Date.now();
  await push(bad);
  const halted = await waitFor('the bad rollout halted', 90_000, async () => {
    const r = await rolloutOf(bad);
    return r?.state === 'halted' ? r : undefined;
  }, 200).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\nrollout: ${JSON.stringify(await rolloutOf(bad))}\nhosts: ${JSON.stringify([...(await summaries()).values()])}`);
  });
  t.diagnostic(`bad commit: rollout halted ${Date.now() - badAt} ms after the push`);
  assert.deepEqual(halted.failed, [canary]);
  assert.equal(halted.waves[1]?.openedAt, null, 'the second wave never opened');
  await waitFor('the canary back at the good commit', 30_000, async () => {
    const c = (await summaries()).get(canary);
    return c?.lastAttemptedRevision === bad && c.lastAppliedRevision === good ? true : undefined;
  });
  // The agent sees the container stop right after its start (ApplyFailed), then puts the good revision back.
  const canaryAttempts = await attempts(canary);
  const canaryBad = canaryAttempts.filter((a) => a.revision === bad);
  assert.ok(canaryBad.length > 0 && canaryBad.every((a) => a.result === 'Failed'), `the canary failed the bad commit: ${JSON.stringify(canaryBad)}`);
  assert.ok(
    canaryAttempts.some((a) => a.trigger === 'rollback' && a.result === 'RolledBack' && a.revision === good && a.message?.includes(bad.slice(0, 12))),
    `the canary rolled back to the good commit: ${JSON.stringify(canaryAttempts.slice(0, 4))}`,
  );
  // The others poll the repository every 3 s and see the bad head: give them a few polls.
  await sleep(10_000);
  const all = await summaries();
  for (const id of others) {
    const h = all.get(id)!;
    assert.equal(h.lastAppliedRevision, good, `${id} stays at the good commit`);
    assert.notEqual(h.lastAttemptedRevision, bad, `${id} never attempted the bad commit`);
    assert.ok(!(await attemptedRevisions(id)).includes(bad), `${id}'s attempts at the hub never name the bad commit`);
    assert.equal(onDisk(id), `v2 on ${id}\n`);
    assert.ok((await containerEnv(id)).includes('VERSION=v2'), `${id}'s container still runs v2`);
  }
  assert.equal(onDisk(canary), `v2 on ${canary}\n`, 'the canary rolled back to the good commit');
  assert.ok((await containerEnv(canary)).includes('VERSION=v2'), 'the canary runs the good container again');
});
