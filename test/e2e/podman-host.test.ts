// A systemd host whose containers run on Podman: a real nspawn host with
// Podman's Docker-compatible API at /run/podman/podman.sock (the test Podman
// service, bound in the way the Docker hosts get their engine), the agent
// installed by install.sh with --docker-socket, a git daemon and the built
// hub. The container converges on Podman, the host's facts at the hub name the
// engine, a container removed behind the agent's back is put back, and a new
// commit reaches it through the webhook.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable } from '../harness/nspawn.ts';
import type { SystemdHost } from '../harness/nspawn.ts';
import { PODMAN_SOCKET, podmanMissingReason } from '../harness/podman.ts';
import { FleetServers } from '../harness/fleet-servers.ts';
import { missingGitServer, tempDir } from '../harness/git-servers.ts';
import { bundleMissing, installAgent, mustExec, waitFor } from './fleet-support.ts';

const run = randomBytes(3).toString('hex');
const id = `gfp-${run}`;
const container = `gfp-app-${run}`;

function fleetFiles(version: string): Record<string, string> {
  return {
    [`${id}/host.yaml`]: '',
    [`${id}/app.yaml`]: [
      'files:',
      '  /etc/gfp/version:',
      `    content: "${version}\\n"`,
      'containers:',
      `  ${container}:`,
      '    image: local/busybox:1',
      '    command: ["sleep", "3600"]',
      '    network: none',
      `    env: { VERSION: "${version}" }`,
      '',
    ].join('\n'),
  };
}

test('a systemd host on Podman: install.sh --docker-socket, converge, engine in the facts, drift healed, next commit applied', { timeout: 300_000 }, async (t) => {
  if (!requireComponent(t, 'systemd hosts', systemdHostsAvailable())) return;
  if (!requireComponent(t, 'Podman', await podmanMissingReason())) return;
  if (!requireComponent(t, 'git daemon', missingGitServer('daemon'))) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  const work = tempDir('podman-host');
  const podman = new Dockerode({ socketPath: PODMAN_SOCKET });
  const servers = new FleetServers(work);
  let host: SystemdHost | null = null;
  t.after(async () => {
    await host?.poweroff().catch(() => undefined);
    await podman.getContainer(container).remove({ force: true }).catch(() => undefined);
    await servers.stop();
    rmSync(work, { recursive: true, force: true });
  });

  await servers.startGit();
  const v1 = servers.repo.commit(fleetFiles('v1'), 'v1');
  servers.repo.push();
  const hub = await servers.startHub('2s');
  host = await bootHost(id, { bindDocker: false, binds: [{ host: PODMAN_SOCKET, guest: '/run/podman/podman.sock' }] });
  const started = Date.now();
  const install = await installAgent(host, ['--repo', servers.repoUrl, '--host', id, '--hub', hub.agentUrl, '--token', hub.enrollment, '--interval', '5s', '--drift-interval', '2s', '--docker-socket', '/run/podman/podman.sock']);
  assert.equal(install.code, 0, install.stderr);
  assert.match((await mustExec(host, ['cat', '/etc/gitfleet/agent.yaml'])).stdout, /^docker:\n {2}socket: "\/run\/podman\/podman\.sock"$/m);

  // Converged on Podman, reported to the hub, the engine named in the host's facts.
  const detail = await hub.convergedAt(id, v1, 120_000);
  t.diagnostic(`install → converged on Podman and reported: ${Date.now() - started} ms`);
  const inspected = await podman.getContainer(container).inspect();
  assert.equal(inspected.State.Running, true);
  assert.ok(inspected.Config.Env.includes('VERSION=v1'));
  assert.equal(readFileSync(join(host.rootDir, 'etc/gfp/version'), 'utf8'), 'v1\n');
  const facts = (await hub.api<{ facts: { containerEngine?: { name: string; version: string } | null } | null }>(`/api/v1/hosts/${id}`)).facts;
  assert.equal(facts?.containerEngine?.name, 'podman', JSON.stringify(facts?.containerEngine));
  assert.ok(detail.summary.sync === 'InSync');

  // Drift: the container removed on the engine behind the agent's back comes back.
  await podman.getContainer(container).remove({ force: true });
  const removedAt = Date.now();
  const back = await waitFor('the container recreated on Podman', 60_000, async () => {
    const c = await podman.getContainer(container).inspect().catch(() => null);
    return c?.State.Running === true && c.Id !== inspected.Id ? c : undefined;
  }, 200);
  t.diagnostic(`container removed on Podman → recreated in ${Date.now() - removedAt} ms`);
  assert.ok(back.Config.Env.includes('VERSION=v1'));

  // A new commit, told by the webhook, reaches the host on Podman.
  const v2 = servers.repo.commit(fleetFiles('v2'), 'v2');
  const pushedAt = Date.now();
  await servers.push(v2);
  await hub.convergedAt(id, v2, 60_000);
  t.diagnostic(`push → v2 applied on Podman and reported: ${Date.now() - pushedAt} ms`);
  assert.ok((await podman.getContainer(container).inspect()).Config.Env.includes('VERSION=v2'));
  assert.equal(readFileSync(join(host.rootDir, 'etc/gfp/version'), 'utf8'), 'v2\n');
});
