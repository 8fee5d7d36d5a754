// The agent on an arm64 systemd host: a Debian arm64 tree (Debian's arm64
// Node.js, no node of this machine bound in) booted by systemd-nspawn, every
// binary in it run by qemu-user. packaging/install.sh installs the agent as
// its systemd service; it converges one file and one unit from a git daemon
// on loopback, heals a file changed by hand, and reports to a real hub process
// running natively on this machine. One scenario, time-boxed: everything in
// the host is 10–20 times slower under emulation.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireComponent } from '../harness/require.ts';
import type { SystemdHost } from '../harness/nspawn.ts';
import { arm64HostsAvailable, bootArm64Host } from '../harness/arm64.ts';
import { FleetServers } from '../harness/fleet-servers.ts';
import { missingGitServer, tempDir } from '../harness/git-servers.ts';
import { bundleMissing, installAgent, mustExec, waitFor } from './fleet-support.ts';

const id = `gfarm-${randomBytes(3).toString('hex')}`;
const unit = '[Unit]\nDescription=gitfleet arm64 test unit\n[Service]\nUser=nobody\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n';
const fleet = {
  'base.yaml': [
    'files:',
    '  /etc/gfarm/motd:',
    '    content: "managed on ${host}\\n"',
    '    mode: "0644"',
    'units:',
    '  gfarm-hello.service:',
    `    content: ${JSON.stringify(unit)}`,
    '',
  ].join('\n'),
  [`${id}/host.yaml`]: '',
};

const qemuUserDropIn = [
  '[Service]',
  'ProtectSystem=no',
  'ProtectHome=no',
  'PrivateTmp=no',
  'PrivateDevices=no',
  'ProtectKernelTunables=no',
  'ProtectKernelModules=no',
  'ProtectKernelLogs=no',
  'ProtectControlGroups=no',
  'ProtectClock=no',
  'ProtectHostname=no',
  'ReadWritePaths=',
  '',
].join('\n');

interface Facts {
  arch: string | null;
  os: { distro: string | null };
}

// CI builds the arm64 tree in the background while the other layers run: wait
// for it here, outside the scenario's own 5-minute box.
let arm64Missing: string | null = null;
before(async () => {
  arm64Missing = await arm64HostsAvailable(20 * 60_000);
}, { timeout: 21 * 60_000 });

test('arm64 host: install.sh, first converge, drift heal and reports to the hub, all under emulation', { timeout: 300_000 }, async (t) => {
  if (!requireComponent(t, 'arm64 systemd hosts (qemu-user)', arm64Missing)) return;
  if (!requireComponent(t, 'git daemon', missingGitServer('daemon'))) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  const work = tempDir('arm64-host');
  const servers = new FleetServers(work);
  let host: SystemdHost | null = null;
  t.after(async () => {
    await host?.poweroff().catch(() => undefined);
    await servers.stop();
    rmSync(work, { recursive: true, force: true });
  });

  await servers.startGit();
  const revision = servers.repo.commit(fleet, 'arm64 host: one file, one unit');
  servers.repo.push();
  const hub = await servers.startHub('2s');

  let started = Date.now();
  host = await bootArm64Host(id, { bindDocker: false });
  const bootMs = Date.now() - started;
  const h = host;
  t.diagnostic(`arm64 host booted (systemd under qemu) in ${bootMs} ms`);

  // What runs in there is arm64 code: the kernel's view through qemu, and Debian's arm64 node.
  assert.equal((await mustExec(h, ['uname', '-m'])).stdout.trim(), 'aarch64');
  assert.equal((await mustExec(h, ['node', '-p', 'process.arch + " " + process.versions.node.split(".")[0]'], 120_000)).stdout.trim().split(' ')[0], 'arm64');
  assert.equal((await mustExec(h, ['sh', '-c', 'command -v node'])).stdout.trim(), '/usr/bin/node', 'Debian\'s node, not one bound in');
  assert.match((await mustExec(h, ['dpkg', '--print-architecture'])).stdout, /^arm64$/m);

  // qemu-user refuses clone() with CLONE_NEWNS, so systemd cannot build the mount
  // namespace the unit's sandboxing asks for (status 226/NAMESPACE). An
  // administrator's drop-in relaxes exactly those settings here; on arm64
  // hardware the unit runs as shipped. Everything else in the unit stays.
  mkdirSync(join(h.rootDir, 'etc/systemd/system/gitfleet-agent.service.d'), { recursive: true });
  writeFileSync(join(h.rootDir, 'etc/systemd/system/gitfleet-agent.service.d/50-qemu-user.conf'), qemuUserDropIn);

  started = Date.now();
  const install = await installAgent(h, ['--repo', servers.repoUrl, '--host', id, '--hub', hub.agentUrl, '--token', hub.enrollment, '--interval', '10s', '--drift-interval', '5s']);
  assert.equal(install.code, 0, `${install.stdout}\n${install.stderr}`);
  t.diagnostic(`install.sh agent in ${Date.now() - started} ms`);
  assert.equal((await mustExec(h, ['systemctl', 'is-active', 'gitfleet-agent.service'])).stdout.trim(), 'active');

  // The first converge, as the hub sees it.
  started = Date.now();
  await waitFor('the arm64 agent to report the revision applied and in sync', 150_000, async () => {
    const s = (await hub.summaries()).get(id);
    return s?.connectivity === 'Online' && s.lastAppliedRevision === revision && s.sync === 'InSync' ? s : undefined;
  }, 500).catch(async (error: unknown) => {
    const journal = await h.exec(['journalctl', '-u', 'gitfleet-agent', '--no-pager', '-n', '40']);
    throw new Error(`${String(error)}\nhub sees: ${JSON.stringify((await hub.summaries()).get(id) ?? null)}\nagent journal:\n${journal.stdout}${journal.stderr}`);
  });
  t.diagnostic(`install → converged and reported InSync to the hub in ${Date.now() - started} ms`);
  const motd = join(h.rootDir, 'etc/gfarm/motd');
  assert.equal(readFileSync(motd, 'utf8'), `managed on ${id}\n`);
  assert.equal((await mustExec(h, ['systemctl', 'is-active', 'gfarm-hello.service'])).stdout.trim(), 'active');
  assert.equal((await mustExec(h, ['systemctl', 'is-enabled', 'gfarm-hello.service'])).stdout.trim(), 'enabled');
  // The agent daemon itself is arm64 code, and says so in the facts it reports.
  const mainPid = (await mustExec(h, ['systemctl', 'show', '-p', 'MainPID', '--value', 'gitfleet-agent.service'])).stdout.trim();
  assert.match(readFileSync(`/proc/${h.pid1}/root/proc/${mainPid}/cmdline`, 'utf8'), /gitfleet\.mjs\0agent/);
  const facts = await waitFor('the agent\'s facts at the hub', 60_000, async () => (await hub.api<{ facts: Facts | null }>(`/api/v1/hosts/${id}`)).facts ?? undefined, 500);
  assert.equal(facts.arch, 'arm64');

  // Drift: the file changed by hand comes back, and the hub hears of the correction.
  await mustExec(h, ['sh', '-c', 'echo "edited by hand" > /etc/gfarm/motd']);
  started = Date.now();
  await waitFor('the agent to put the file back', 90_000, () => (readFileSync(motd, 'utf8') === `managed on ${id}\n` ? true : undefined), 250);
  t.diagnostic(`drift on the file healed in ${Date.now() - started} ms`);
  const corrected = await waitFor('the drift correction reported to the hub', 60_000, async () => {
    const d = await hub.api<{ attempts: { trigger: string; result: string; driftCorrected?: string[] }[] }>(`/api/v1/hosts/${id}`);
    return d.attempts.find((a) => (a.driftCorrected ?? []).some((s) => s.includes('/etc/gfarm/motd')));
  }, 500);
  assert.ok(corrected, 'an attempt names the corrected file');
  const s = (await hub.summaries()).get(id);
  assert.equal(s?.sync, 'InSync');
  assert.equal(s?.connectivity, 'Online');
});
