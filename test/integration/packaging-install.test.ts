// packaging/install.sh on a real systemd host (nspawn): the agent and the hub
// installed as hardened services that do their jobs (a file, a unit and a
// container converged through the sandbox; the hub answering as its own user),
// a second run that changes nothing, a changed option that restarts, bad
// options refused, and --uninstall leaving no file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable } from '../harness/nspawn.ts';
import type { SystemdHost } from '../harness/nspawn.ts';
import { dockerMissingReason } from '../harness/docker.ts';
import { freePort } from '../harness/git-servers.ts';
import { bundleMissing, changedPaths, installAgent, installScript, mustExec, tracesSince, waitFor } from '../e2e/fleet-support.ts';

const root = resolve(import.meta.dirname, '../..');
const run = randomBytes(3).toString('hex');
const container = `gfpk-${run}-c`;
const unit = `gfpk-${run}.service`;

function fleetFiles(): string {
  // A plain-directory fleet repo with one host "h": a file, a unit, a container.
  return `set -e
mkdir -p /srv/fleet/h
: > /srv/fleet/h/host.yaml
cat > /srv/fleet/base.yaml <<'EOF'
files:
  /etc/gfpk/hello:
    content: "hello \${host}\\n"
units:
  ${unit}:
    content: |
      [Service]
      User=nobody
      ExecStart=/bin/sleep infinity
      [Install]
      WantedBy=multi-user.target
    enabled: true
    state: running
containers:
  ${container}:
    image: local/busybox:1
    command: ["sleep", "3600"]
    network: none
    init: true
EOF`;
}

async function serviceState(host: SystemdHost, name: string): Promise<Record<string, string>> {
  const r = await mustExec(host, ['systemctl', 'show', name, '-p', 'MainPID,ActiveEnterTimestamp,ActiveState,UnitFileState,User,NoNewPrivileges,ProtectSystem,ProtectHome,PrivateTmp,CapabilityBoundingSet']);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

function mtimes(host: SystemdHost, paths: string[]): number[] {
  return paths.map((p) => statSync(join(host.rootDir, p)).mtimeMs);
}

test('install.sh: agent and hub as hardened services, idempotent, refused options, clean uninstall', { timeout: 240_000 }, async (t) => {
  if (!requireComponent(t, 'systemd hosts', systemdHostsAvailable())) return;
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  const docker = new Dockerode();
  const host = await bootHost(`gfpk-${run}`);
  t.after(async () => {
    await host.poweroff().catch(() => undefined);
    await docker.getContainer(container).remove({ force: true }).catch(() => undefined);
  });
  await mustExec(host, ['bash', '-c', fleetFiles()]);
  const before = changedPaths(host);

  // --- refused options: one line naming the problem, exit 2, nothing written
  const noRepo = await installAgent(host, ['--host', 'h']);
  assert.equal(noRepo.code, 2);
  assert.match(noRepo.stderr, /--repo is required/);
  const badHub = await installAgent(host, ['--repo', '/srv/fleet', '--hub', 'http://127.0.0.1:1/agent']);
  assert.equal(badHub.code, 2);
  assert.match(badHub.stderr, /--hub must be a ws:\/\/ or wss:\/\/ URL/);
  const unknown = await installAgent(host, ['--repo', '/srv/fleet', '--listen', '127.0.0.1:1']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option --listen for agent/);
  assert.deepEqual(changedPaths(host), before, 'a refused install must not write anything');

  // --- agent: installed, started, converges through its sandbox
  const agentArgs = ['--repo', '/srv/fleet', '--host', 'h', '--interval', '30s', '--token', 'enroll-secret-123456'];
  const started = Date.now();
  const first = await installAgent(host, agentArgs);
  const installMs = Date.now() - started;
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /gitfleet-agent.service started/);
  t.diagnostic(`agent install took ${installMs} ms`);
  const status = await waitFor('the agent to converge', 30_000, async () => {
    const s = JSON.parse(readFileSync(join(host.rootDir, 'var/lib/gitfleet/status.json'), 'utf8')) as { lastAppliedRevision?: string; conditions: { type: string; status: boolean }[] };
    return s.conditions.find((c) => c.type === 'Ready')?.status ? s : undefined;
  });
  assert.match(status.lastAppliedRevision ?? '', /^dir-/);
  t.diagnostic(`agent converged ${Date.now() - started} ms after install.sh began`);
  assert.equal(readFileSync(join(host.rootDir, 'etc/gfpk/hello'), 'utf8'), 'hello h\n');
  assert.equal((await host.exec(['systemctl', 'is-active', unit])).stdout.trim(), 'active');
  assert.equal((await docker.getContainer(container).inspect()).State.Running, true);
  // The config and the token are root-only, and the token is not in the config or the unit.
  const config = statSync(join(host.rootDir, 'etc/gitfleet/agent.yaml'));
  assert.equal(config.mode & 0o777, 0o600);
  assert.equal(statSync(join(host.rootDir, 'etc/gitfleet/agent.token')).mode & 0o777, 0o600);
  assert.doesNotMatch(readFileSync(join(host.rootDir, 'etc/gitfleet/agent.yaml'), 'utf8'), /enroll-secret/);
  assert.doesNotMatch(readFileSync(join(host.rootDir, 'etc/systemd/system/gitfleet-agent.service'), 'utf8'), /enroll-secret/);
  // The host policy baseline (docs/policy.md): installed once, root-owned, not writable by others.
  const policy = statSync(join(host.rootDir, 'etc/gitfleet/policy.yaml'));
  assert.equal(policy.mode & 0o777, 0o644);
  assert.equal(policy.uid, 0);
  assert.equal(readFileSync(join(host.rootDir, 'etc/gitfleet/policy.yaml'), 'utf8'), readFileSync(join(root, 'packaging/policy.yaml'), 'utf8'));
  // The host's age identity (docs/secrets.md): root-only, in age-keygen's format.
  const ageKey = statSync(join(host.rootDir, 'etc/gitfleet/age.key'));
  assert.equal(ageKey.mode & 0o777, 0o600);
  assert.equal(ageKey.uid, 0);
  assert.match(readFileSync(join(host.rootDir, 'etc/gitfleet/age.key'), 'utf8'), /^# public key: age1[0-9a-z]+\nAGE-SECRET-KEY-1[0-9A-Z]+\n$/m);
  const agent1 = await serviceState(host, 'gitfleet-agent.service');
  assert.equal(agent1.ActiveState, 'active');
  assert.equal(agent1.UnitFileState, 'enabled');
  assert.equal(agent1.NoNewPrivileges, 'yes');
  assert.equal(agent1.ProtectHome, 'yes');
  assert.equal(agent1.PrivateTmp, 'yes');
  assert.doesNotMatch(agent1.CapabilityBoundingSet ?? '', /cap_sys_admin/);

  // --- a second identical run changes nothing: no file rewritten, no restart
  const watched = ['etc/gitfleet/agent.yaml', 'etc/gitfleet/agent.token', 'etc/gitfleet/age.key', 'etc/gitfleet/policy.yaml', 'etc/systemd/system/gitfleet-agent.service', 'usr/lib/gitfleet/gitfleet.mjs'];
  const times = mtimes(host, watched);
  const second = await installAgent(host, agentArgs);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /unchanged/);
  assert.deepEqual(mtimes(host, watched), times);
  const agent2 = await serviceState(host, 'gitfleet-agent.service');
  assert.equal(agent2.MainPID, agent1.MainPID);
  assert.equal(agent2.ActiveEnterTimestamp, agent1.ActiveEnterTimestamp);

  // --- a changed option rewrites the config and restarts the agent
  const third = await installAgent(host, [...agentArgs.slice(0, 4), '--interval', '20s', ...agentArgs.slice(6)]);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stdout, /restarted/);
  assert.match(readFileSync(join(host.rootDir, 'etc/gitfleet/agent.yaml'), 'utf8'), /interval: "20s"/);
  assert.notEqual((await serviceState(host, 'gitfleet-agent.service')).MainPID, agent1.MainPID);

  // --- hub: its own user, strict sandbox, answers; a second run keeps its tokens
  const port = await freePort();
  const hubInstall = await host.exec(['bash', installScript, 'hub', '--listen', `127.0.0.1:${port}`], { timeoutMs: 120_000 });
  assert.equal(hubInstall.code, 0, hubInstall.stderr);
  const health = await waitFor('the hub to answer', 20_000, async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return res.ok ? ((await res.json()) as { ok: boolean }) : undefined;
  });
  assert.equal(health.ok, true);
  const hub = await serviceState(host, 'gitfleet-hub.service');
  assert.equal(hub.User, 'gitfleet-hub');
  assert.equal(hub.ProtectSystem, 'strict');
  assert.equal(hub.CapabilityBoundingSet, '');
  const hubUid = (await mustExec(host, ['stat', '-c', '%U', `/proc/${hub.MainPID}`])).stdout.trim();
  assert.equal(hubUid, 'gitfleet-hub');
  const hubYaml = statSync(join(host.rootDir, 'etc/gitfleet/hub.yaml'));
  assert.equal(hubYaml.mode & 0o777, 0o600);
  assert.equal(hubYaml.uid, 0);
  const adminToken = /^adminToken: "(.+)"$/m.exec(readFileSync(join(host.rootDir, 'etc/gitfleet/hub.yaml'), 'utf8'))?.[1];
  assert.ok(adminToken && adminToken.length >= 32, 'a generated admin token');
  const api = await fetch(`http://127.0.0.1:${port}/api/v1/summary`, { headers: { authorization: `Bearer ${adminToken}` } });
  assert.equal(api.status, 200);
  const hubAgain = await host.exec(['bash', installScript, 'hub', '--listen', `127.0.0.1:${port}`], { timeoutMs: 120_000 });
  assert.equal(hubAgain.code, 0, hubAgain.stderr);
  assert.match(hubAgain.stdout, /unchanged/);
  assert.equal((await serviceState(host, 'gitfleet-hub.service')).MainPID, hub.MainPID);

  // --- uninstall: everything install.sh and the services made is gone, nothing else
  const removed = await host.exec(['bash', installScript, '--uninstall'], { timeoutMs: 60_000 });
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal((await host.exec(['getent', 'passwd', 'gitfleet-hub'])).code, 2, 'the hub user is removed');
  assert.notEqual((await host.exec(['systemctl', 'cat', 'gitfleet-agent.service'])).code, 0);
  // What the agent converged from Git stays (it belongs to the fleet, not to the install).
  const managed = [/^etc\/gfpk(\/|$)/, new RegExp(`^etc/systemd/system/(multi-user\\.target\\.wants/)?${unit.replace('.', '\\.')}$`), /^etc\/systemd\/system\/multi-user\.target\.wants$/];
  const traces = tracesSince(host, before, managed);
  assert.deepEqual(traces.added, [], 'files left behind by the install');
  assert.deepEqual(traces.removed, [], 'files the uninstall removed that it did not create');
});
