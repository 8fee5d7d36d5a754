// The .deb (packaging/deb/build-deb.sh) on a real systemd host: installs, the
// agent started from the packaged unit converges, an upgrade keeps the edited
// conffile and restarts the running agent, and a purge leaves no trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { requireComponent } from '../harness/require.ts';
import { dockerMissingReason } from '../harness/docker.ts';
import { bootHost, systemdHostsAvailable } from '../harness/nspawn.ts';
import { bundleMissing, changedPaths, mustExec, projectDir, tracesSince, waitFor } from '../e2e/fleet-support.ts';

const run = randomBytes(3).toString('hex');

function buildDeb(out: string, version: string): string {
  return execFileSync('bash', [join(projectDir, 'packaging/deb/build-deb.sh'), '--out', out, '--version', version], { encoding: 'utf8' }).trim();
}

test('.deb: install, packaged agent converges, upgrade keeps the conffile, purge leaves nothing', { timeout: 240_000 }, async (t) => {
  if (!requireComponent(t, 'systemd hosts', systemdHostsAvailable())) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  // The agent opens the Docker socket at start, even for a fleet of files.
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  const out = mkdtempSync(join(tmpdir(), 'gitfleet-deb-'));
  const host = await bootHost(`gfdeb-${run}`);
  t.after(async () => {
    await host.poweroff().catch(() => undefined);
    rmSync(out, { recursive: true, force: true });
  });
  const started = Date.now();
  const v1 = buildDeb(join(out, 'v1'), '0.1.0~test1');
  const v2 = buildDeb(join(out, 'v2'), '0.1.0~test2');
  t.diagnostic(`built two .debs in ${Date.now() - started} ms`);
  assert.match(execFileSync('dpkg-deb', ['-f', v1, 'Version'], { encoding: 'utf8' }), /^0\.1\.0~test1$/m);
  assert.match(execFileSync('dpkg-deb', ['-c', v1], { encoding: 'utf8' }), /\.\/usr\/lib\/gitfleet\/node_modules\/better-sqlite3\/build\/Release\/better_sqlite3\.node/);

  // A tiny plain-directory fleet the packaged agent converges.
  await mustExec(host, ['mkdir', '-p', '/srv/fleet/h']);
  writeFileSync(join(host.rootDir, 'srv/fleet/h/host.yaml'), '');
  writeFileSync(join(host.rootDir, 'srv/fleet/base.yaml'), 'files:\n  /etc/gfdeb/hello:\n    content: "hi\\n"\n');
  const before = changedPaths(host);
  for (const deb of [v1, v2]) copyFileSync(deb, join(host.rootDir, 'root', basename(deb)));

  const install = await host.exec(['dpkg', '-i', `/root/${basename(v1)}`], { timeoutMs: 120_000 });
  assert.equal(install.code, 0, install.stderr);
  assert.equal((await mustExec(host, ['gitfleet', '--version'])).stdout.trim().length > 0, true);
  assert.equal((await host.exec(['getent', 'passwd', 'gitfleet-hub'])).code, 0);
  assert.equal((await host.exec(['systemctl', 'is-enabled', 'gitfleet-agent'])).stdout.trim(), 'disabled', 'nothing is enabled before it is configured');
  // The host policy baseline (docs/policy.md) is a conffile, root-owned, readable, not writable by others.
  assert.equal(readFileSync(join(host.rootDir, 'etc/gitfleet/policy.yaml'), 'utf8'), readFileSync(resolve(import.meta.dirname, '../../packaging/policy.yaml'), 'utf8'));
  assert.equal((await mustExec(host, ['stat', '-c', '%a %U', '/etc/gitfleet/policy.yaml'])).stdout.trim(), '644 root');
  assert.match((await mustExec(host, ['cat', '/var/lib/dpkg/info/gitfleet.conffiles'])).stdout, /^\/etc\/gitfleet\/policy\.yaml$/m);

  // The operator edits the conffile and enables the agent.
  const edited = 'repo: /srv/fleet\nhost: h\ninterval: 30s\n';
  writeFileSync(join(host.rootDir, 'etc/gitfleet/agent.yaml'), edited);
  await mustExec(host, ['systemctl', 'enable', '--now', 'gitfleet-agent']);
  await waitFor('the packaged agent to converge', 30_000, async () => (readFileSync(join(host.rootDir, 'etc/gfdeb/hello'), 'utf8') === 'hi\n' ? true : undefined)).catch(async (error: unknown) => {
    throw new Error(`${String(error)}\n${(await host.exec(['journalctl', '-u', 'gitfleet-agent', '--no-pager', '-n', '20'])).stdout}`);
  });
  const pid1 = (await mustExec(host, ['systemctl', 'show', '-p', 'MainPID', '--value', 'gitfleet-agent'])).stdout.trim();

  // Upgrade: the edited conffile stays, the running agent is restarted on the new version.
  const upgrade = await host.exec(['dpkg', '-i', `/root/${basename(v2)}`], { timeoutMs: 120_000 });
  assert.equal(upgrade.code, 0, upgrade.stderr);
  assert.equal((await mustExec(host, ['dpkg-query', '-W', '-f=${Version}', 'gitfleet'])).stdout, '0.1.0~test2');
  assert.equal(readFileSync(join(host.rootDir, 'etc/gitfleet/agent.yaml'), 'utf8'), edited);
  assert.equal((await host.exec(['systemctl', 'is-active', 'gitfleet-agent'])).stdout.trim(), 'active');
  const pid2 = (await mustExec(host, ['systemctl', 'show', '-p', 'MainPID', '--value', 'gitfleet-agent'])).stdout.trim();
  assert.notEqual(pid2, pid1, 'the upgrade restarted the agent');

  // Purge: package files, conffiles, state, user, /etc/gitfleet — all gone.
  const purge = await host.exec(['dpkg', '--purge', 'gitfleet'], { timeoutMs: 60_000 });
  assert.equal(purge.code, 0, purge.stderr);
  assert.notEqual((await host.exec(['getent', 'passwd', 'gitfleet-hub'])).code, 0);
  for (const deb of [v1, v2]) rmSync(join(host.rootDir, 'root', basename(deb)));
  // dpkg's own database records what it did; the agent's converged file belongs to the fleet.
  const traces = tracesSince(host, before, [/^var\/lib\/dpkg\/(status|status-old|diversions|statoverride|triggers|lock.*|updates)(\/|$)/, /^var\/lib\/dpkg$/, /^etc\/gfdeb(\/|$)/]);
  assert.deepEqual(traces.added, [], 'left behind by the package');
  assert.deepEqual(traces.removed, []);
});
