// Diagnosing failures from the hub, with real components: a unit whose
// ExecStart prints a message and exits 3 on a real systemd host, and a
// container that logs a line and exits 7 on real Docker, are converged by the
// engine with the real drivers; the statuses travel through the real hub
// client (test/integration/hub-agent-fixture.ts) to a real hub process; the
// hub's host record carries the journal/log lines and exit codes, and
// `gitfleet status --host` prints them.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { converge } from '../../agent/engine/converge.ts';
import { emptyInventory } from '../../agent/engine/model.ts';
import { DockerContainerDriver } from '../../agent/drivers/docker/docker-container-driver.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { createSystemctlUnitDriver } from '../../agent/drivers/systemd/index.ts';
import type { HostStatus, ResourceStatus } from '../../shared/status.ts';
import { container, desired, unit } from '../helpers/desired.ts';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';
import { dockerMissingReason, TEST_IMAGE } from '../harness/docker.ts';
import { api, ENROLL, removeDir, root, startAgent, startHubProcess, tempDir, VIEWER, waitFor, type AgentProcess, type HubProcess } from './hub-harness.ts';

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const tag = process.pid.toString(36);

test('a failing unit and a failing container: journal/log lines and exit codes reach the hub and gitfleet status --host', async (t) => {
  const missing = systemdHostsAvailable() ?? (await dockerMissingReason());
  if (!requireComponent(t, 'a systemd host and Docker', missing)) return;
  const host: SystemdHost = await bootHost(`gf-diag-${tag}`, { bindProject: false, bindDocker: false });
  cleanups.push(() => host.poweroff());
  const containers = new DockerContainerDriver();
  const cname = `gf-diag-${tag}`;
  cleanups.push(() => containers.remove(cname));
  const drivers = {
    units: createSystemctlUnitDriver({ unitDir: join(host.rootDir, 'etc/systemd/system'), run: (argv) => host.exec(argv) }),
    containers,
    files: new MemoryFileDriver({ allow: ['/srv'] }),
  };
  const resources = [
    unit('gf-broken.service', { content: '[Service]\nExecStart=/bin/sh -c "echo cannot open /etc/gf-broken/config.ini: No such file or directory >&2; exit 3"\n[Install]\nWantedBy=multi-user.target\n' }),
    container(cname, { image: TEST_IMAGE, command: ['sh', '-c', 'echo "fatal: database unreachable at 192.0.2.5:5432"; exit 7'], restart: 'no', network: 'none' }),
  ];
  const result = await converge(drivers, desired(resources), emptyInventory(), { revision: 'r1', healthTimeoutMs: 8000, settleMs: 1000, pollMs: 200, saveInventory: async () => undefined });
  const byId = new Map(result.statuses.map((s) => [s.id, s]));
  const u = byId.get('unit/gf-broken.service')!;
  const c = byId.get(`container/${cname}`)!;
  assert.equal(u.exitCode, 3, JSON.stringify(u));
  assert.ok(u.logs?.some((l) => l.includes('cannot open /etc/gf-broken/config.ini')), JSON.stringify(u.logs));
  assert.equal(c.exitCode, 7, JSON.stringify(c));
  assert.ok(c.logs?.some((l) => l.includes('fatal: database unreachable')), JSON.stringify(c.logs));

  // Through the real hub client to a real hub.
  const dataDir = tempDir('diag');
  cleanups.push(async () => removeDir(dataDir));
  const hub: HubProcess = await startHubProcess({ dataDir });
  cleanups.push(() => hub.stop());
  const hostId = `diag-${tag}`;
  const agent: AgentProcess = await startAgent({ hubUrl: hub.agentUrl, host: hostId, stateDir: join(dataDir, 'agent'), token: ENROLL });
  cleanups.push(() => agent.stop());
  await waitFor('the agent to connect', () => agent.connected());
  const now = new Date().toISOString();
  const status: HostStatus = {
    host: hostId,
    place: '',
    tags: [],
    conditions: [{ type: 'Ready', status: false, reason: 'Unhealthy', message: '2 resources are not healthy', lastTransitionTime: now }],
    lastAppliedRevision: 'a'.repeat(40),
    lastAttemptedRevision: 'a'.repeat(40),
    resources: result.statuses,
    attempts: [],
    updatedAt: now,
  };
  agent.send({ status });
  const stored = await waitFor('the hub to store the status', async () => {
    const r = await api<{ status: HostStatus | null }>(hub.url, `/api/v1/hosts/${hostId}`, { token: VIEWER });
    return r.body.status?.resources.length === 2 ? r.body.status : null;
  });
  const at = (id: string): ResourceStatus => stored.resources.find((r) => r.id === id)!;
  assert.equal(at('unit/gf-broken.service').exitCode, 3);
  assert.ok(at('unit/gf-broken.service').logs?.some((l) => l.includes('cannot open /etc/gf-broken/config.ini')));
  assert.equal(at(`container/${cname}`).exitCode, 7);

  const cli = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'status', '--hub', hub.url, '--token', VIEWER, '--host', hostId], { cwd: root }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
  assert.equal(cli.code, 1, 'a host with failing resources exits 1');
  assert.match(cli.stdout, /unit\/gf-broken\.service .*\n\s+last run: exit code 3\n(.*\n)*\s+\| .*cannot open \/etc\/gf-broken\/config\.ini/);
  assert.match(cli.stdout, new RegExp(`container/${cname} .*\\n\\s+last run: exit code 7\\n(.*\\n)*\\s+\\| fatal: database unreachable`));
});
