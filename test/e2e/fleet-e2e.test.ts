// The whole system on a real fleet: 3 systemd hosts (nspawn), each with the
// agent installed by packaging/install.sh as a hardened systemd service,
// reporting to a hub that reads the same repository from a git daemon on
// loopback. Everything is checked through the hub's API, the way an operator
// sees it: first commit → every host in sync at head; push + webhook → every
// host at the new revision within 10 s; hand drift healed and shown; a bad
// commit refused everywhere; a host powered off → offline, then back in sync;
// install.sh --uninstall → no trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable } from '../harness/nspawn.ts';
import type { BootOptions, SystemdHost } from '../harness/nspawn.ts';
import { dockerMissingReason } from '../harness/docker.ts';
import type { HostSummary } from '../harness/faults.ts';
import { FleetServers } from '../harness/fleet-servers.ts';
import { missingGitServer, tempDir } from '../harness/git-servers.ts';
import { bundleMissing, changedPaths, installAgent, installScript, mustExec, tracesSince, waitFor } from './fleet-support.ts';

const run = randomBytes(3).toString('hex');
const hostIds = [1, 2, 3].map((n) => `gfe-${run}-${n}`) as [string, string, string];
const containerOf = (id: string) => `${id}-app`;
const unit = 'gfe-svc.service';

function fleetFiles(version: string): Record<string, string> {
  const files: Record<string, string> = {
    'base.yaml': [
      'files:',
      '  /etc/gfe/version:',
      `    content: "${version} on \${host}\\n"`,
      'units:',
      `  ${unit}:`,
      '    content: |',
      '      [Service]',
      '      User=nobody',
      '      ExecStart=/bin/sleep infinity',
      '      [Install]',
      '      WantedBy=multi-user.target',
      '    enabled: true',
      '    state: running',
      '',
    ].join('\n'),
  };
  for (const id of hostIds) {
    files[`${id}/host.yaml`] = '';
    // Container names are global on the one shared engine: each host's is its own.
    files[`${id}/app.yaml`] = `containers:\n  ${containerOf(id)}:\n    image: local/busybox:1\n    command: ["sleep", "3600"]\n    network: none\n    init: true\n    labels: { version: "${version}" }\n`;
  }
  return files;
}

test('fleet end to end: 3 installed agents, a hub, a git daemon', { timeout: 420_000 }, async (t) => {
  if (!requireComponent(t, 'systemd hosts', systemdHostsAvailable())) return;
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  if (!requireComponent(t, 'git daemon', missingGitServer('daemon'))) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  const docker = new Dockerode();
  const work = tempDir('fleet-e2e');
  const hosts = new Map<string, SystemdHost>();
  const servers = new FleetServers(work);
  const repo = servers.repo;
  t.after(async () => {
    await Promise.all([...hosts.values()].map((h) => h.poweroff().catch(() => undefined)));
    await servers.stop();
    await Promise.all(hostIds.map((id) => docker.getContainer(containerOf(id)).remove({ force: true }).catch(() => undefined)));
    rmSync(work, { recursive: true, force: true });
  });

  // --- the Git server, the first commit, the hub
  await servers.startGit();
  const repoUrl = servers.repoUrl;
  const first = repo.commit(fleetFiles('v1'), 'v1');
  repo.push();
  const firstPushedAt = Date.now();
  // The hub polls every 5 min: the webhook, not polling, must bring the new head.
  const hub = await servers.startHub('1s');
  const summaries = () => hub.summaries();
  const fleetAt = (revision: string, what: string, timeoutMs: number, ids: string[] = hostIds) =>
    waitFor(what, timeoutMs, async () => {
      const all = await summaries();
      const ok = ids.every((id) => {
        const h = all.get(id);
        return h && h.connectivity === 'Online' && h.lastAppliedRevision === revision && h.sync === 'InSync' && h.behind === false;
      });
      return ok ? all : undefined;
    }, 100).catch((e: unknown) => {
      throw new Error(`${String(e)}\nhub says: ${JSON.stringify([...(lastSeen ?? [])])}`);
    });
  let lastSeen: Map<string, HostSummary> | null = null;
  const track = setInterval(() => void summaries().then((s) => (lastSeen = s), () => undefined), 1000);
  t.after(() => clearInterval(track));

  // --- 3 hosts, the agent installed on each by install.sh
  const persistent = join(work, 'h3-state'); // host 3's state disk survives its power-off
  mkdirSync(persistent, { recursive: true });
  const bootOptions = (id: string): BootOptions => (id === hostIds[2] ? { binds: [{ host: persistent, guest: '/var/lib/gitfleet' }] } : {});
  const agentArgs = (id: string) => ['--repo', repoUrl, '--host', id, '--hub', hub.agentUrl, '--token', hub.enrollment, '--interval', '5m', '--drift-interval', '2s'];
  let started = Date.now();
  await Promise.all(hostIds.map(async (id) => hosts.set(id, await bootHost(id, bootOptions(id)))));
  t.diagnostic(`3 hosts booted in ${Date.now() - started} ms`);
  const beforeInstall = changedPaths(hosts.get(hostIds[1])!);
  started = Date.now();
  const installs = await Promise.all(hostIds.map((id) => installAgent(hosts.get(id)!, agentArgs(id))));
  for (const r of installs) assert.equal(r.code, 0, r.stderr);
  t.diagnostic(`install.sh on 3 hosts (in parallel) took ${Date.now() - started} ms`);

  // --- first commit: every host converged and in sync at head
  await fleetAt(first, 'every host in sync at the first commit', 60_000);
  t.diagnostic(`first commit → whole fleet in sync (hub view): ${Date.now() - started} ms after install began, ${Date.now() - firstPushedAt} ms after the push`);
  for (const id of hostIds) {
    assert.equal(readFileSync(join(hosts.get(id)!.rootDir, 'etc/gfe/version'), 'utf8'), `v1 on ${id}\n`);
    assert.equal((await hosts.get(id)!.exec(['systemctl', 'is-active', unit])).stdout.trim(), 'active');
    assert.equal((await docker.getContainer(containerOf(id)).inspect()).State.Running, true);
  }

  // --- push + webhook: every host at the new revision within 10 s (the latency this test exists to check, not a sanity margin)
  const second = repo.commit(fleetFiles('v2'), 'v2');
  repo.push();
  const pushedAt = Date.now();
  await hub.webhook(second);
  await fleetAt(second, 'every host at the second commit', 10_000);
  const pushToConverged = Date.now() - pushedAt;
  t.diagnostic(`push + webhook → 3 hosts in sync at the new head: ${pushToConverged} ms`);
  assert.ok(pushToConverged <= 10_000);
  for (const id of hostIds) assert.equal(readFileSync(join(hosts.get(id)!.rootDir, 'etc/gfe/version'), 'utf8'), `v2 on ${id}\n`);

  // --- hand drift on host 1: a container killed, a unit edited → healed, shown in the hub
  const h1 = hosts.get(hostIds[0])!;
  const startedAtBefore = (await docker.getContainer(containerOf(h1.name)).inspect()).State.StartedAt;
  await docker.getContainer(containerOf(h1.name)).kill();
  const unitPath = join(h1.rootDir, 'etc/systemd/system', unit);
  const managedUnit = readFileSync(unitPath, 'utf8');
  writeFileSync(unitPath, managedUnit.replace('sleep infinity', 'sleep 12345'));
  await mustExec(h1, ['systemctl', 'daemon-reload']);
  const driftAt = Date.now();
  await waitFor('host 1 healed', 60_000, async () => {
    const c = await docker.getContainer(containerOf(h1.name)).inspect();
    return c.State.Running && c.State.StartedAt !== startedAtBefore && readFileSync(unitPath, 'utf8') === managedUnit ? true : undefined;
  });
  t.diagnostic(`hand drift (container killed, unit edited) healed in ${Date.now() - driftAt} ms`);
  const detail = await waitFor('the hub to show the correction', 30_000, async () => {
    const d = await hub.api<{ summary: HostSummary; attempts: { driftCorrected?: string[] }[] }>(`/api/v1/hosts/${h1.name}`);
    const corrected = new Set(d.attempts.flatMap((a) => a.driftCorrected ?? []).map(String));
    const both = [...corrected].some((c) => c.includes(containerOf(h1.name))) && [...corrected].some((c) => c.includes(unit));
    return both && d.summary.sync === 'InSync' ? d : undefined;
  });
  assert.equal(detail.summary.lastAppliedRevision, second);

  // --- a bad commit (invalid YAML): refused on every host, failed at the hub, hosts stay on the last good revision
  const bad = repo.commit({ 'base.yaml': 'files:\n  /etc/gfe/version: [unclosed\n' }, 'broken');
  await servers.push(bad);
  const refused = await waitFor('every host to refuse the bad commit', 30_000, async () => {
    const all = await summaries();
    return hostIds.every((id) => {
      const h = all.get(id);
      return h && h.lastAttemptedRevision === bad && h.lastAppliedRevision === second && (h.sync === 'Failed' || h.stalled);
    })
      ? all
      : undefined;
  });
  for (const id of hostIds) {
    assert.equal(refused.get(id)!.behind, true, 'the head is the refused commit');
    assert.equal(readFileSync(join(hosts.get(id)!.rootDir, 'etc/gfe/version'), 'utf8'), `v2 on ${id}\n`, 'still the last good revision');
  }

  // --- fix it, then host 3 powered off → offline, booted → back in sync
  const third = repo.commit(fleetFiles('v3'), 'v3 (fix)');
  await servers.push(third);
  await fleetAt(third, 'every host at the fix', 30_000);
  const h3id = hostIds[2];
  await hosts.get(h3id)!.poweroff();
  hosts.delete(h3id);
  await waitFor('host 3 shown offline', 30_000, async () => ((await summaries()).get(h3id)?.connectivity === 'Offline' ? true : undefined));
  started = Date.now();
  const h3 = await bootHost(h3id, bootOptions(h3id));
  hosts.set(h3id, h3);
  // The root filesystem of a test host does not survive its power-off (only the
  // bound state disk does), so the boot re-runs install.sh as a provisioning step.
  const reinstall = await installAgent(h3, agentArgs(h3id));
  assert.equal(reinstall.code, 0, reinstall.stderr);
  await fleetAt(third, 'host 3 back in sync after boot', 30_000, [h3id]);
  t.diagnostic(`host 3 boot → back in sync at the hub: ${Date.now() - started} ms`);

  // --- install.sh --uninstall on host 2: no trace of the install left
  const h2 = hosts.get(hostIds[1])!;
  const removed = await h2.exec(['bash', installScript, '--uninstall'], { timeoutMs: 60_000 });
  assert.equal(removed.code, 0, removed.stderr);
  const managed = [/^etc\/gfe(\/|$)/, new RegExp(`^etc/systemd/system/(multi-user\\.target\\.wants/)?${unit.replace('.', '\\.')}$`), /^etc\/systemd\/system\/multi-user\.target\.wants$/];
  const traces = tracesSince(h2, beforeInstall, managed);
  assert.deepEqual(traces.added, [], 'left behind by the install');
  assert.deepEqual(traces.removed, []);
  await waitFor('host 2 shown offline after uninstall', 30_000, async () => ((await summaries()).get(h2.name)?.connectivity === 'Offline' ? true : undefined));
});
