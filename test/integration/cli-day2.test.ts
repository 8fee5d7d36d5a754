// Issue 21, item 3: running the fleet from a terminal. A real hub process,
// two real agent daemons (`gitfleet agent`, files only, a plain directory as
// the fleet repo), and the CLI spawned as a user runs it: login stores the
// URL and a 0600 token file, then hosts, status, reconcile --wait and host
// reset-credential need no flags; "unhealthy" (1) and "could not tell" (3)
// are told apart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, ENROLL, VIEWER, api, removeDir, startHubProcess, tempDir, waitFor, type HubProcess } from './hub-harness.ts';
import { cliEntry, gitfleet, repoRoot } from '../helpers/gitfleet-cli.ts';
import type { HostSummary } from '../../hub/fleet/fleet-index.ts';

const dirs: string[] = [];
let hub: HubProcess;
const agents = new Map<string, ChildProcess>();
let configDir: string;
let adminFile: string;

function startAgentDaemon(host: string, fleet: string, target: string): ChildProcess {
  const stateDir = tempDir(`cli-day2-${host}`);
  dirs.push(stateDir);
  const proc = spawn(process.execPath, ['--import', 'tsx', cliEntry, 'agent', '--repo', fleet, '--host', host, '--state-dir', stateDir, '--files-allow', target], {
    cwd: repoRoot,
    env: { ...process.env, GITFLEET_AGENT_HUB: hub.agentUrl, GITFLEET_TOKEN: ENROLL, GITFLEET_INTERVAL: '1h', GITFLEET_DOCKER_SOCKET: join(stateDir, 'no-docker.sock'), GITFLEET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  agents.set(host, proc);
  return proc;
}

before(async () => {
  const dataDir = tempDir('cli-day2-hub');
  const fleet = tempDir('cli-day2-fleet');
  const target = tempDir('cli-day2-target');
  const configParent = tempDir('cli-day2-config');
  configDir = join(configParent, 'gitfleet'); // created by login, 0700
  dirs.push(dataDir, fleet, target, configParent);
  for (const host of ['app-1', 'app-2']) {
    mkdirSync(join(fleet, 'lab', host), { recursive: true });
    writeFileSync(join(fleet, 'lab', host, 'host.yaml'), '{}\n');
    writeFileSync(join(fleet, 'lab', host, 'files.yaml'), `files:\n  ${target}/${host}.conf:\n    content: "${host}\\n"\n`);
  }
  // A Git repo, read by the hub (declared hosts, tags) and the agents alike.
  const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' };
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'two lab hosts']]) execFileSync('git', ['-C', fleet, ...args], { env: gitEnv });
  hub = await startHubProcess({ dataDir, env: { GITFLEET_HUB_REPO: fleet, GITFLEET_HUB_REF: 'main', GITFLEET_HUB_POLL_INTERVAL: '1h' } });
  for (const host of ['app-1', 'app-2']) startAgentDaemon(host, fleet, target);
  await waitFor(
    'both agents online and in sync',
    async () => {
      const { body } = await api<{ hosts: HostSummary[] }>(hub.url, '/api/v1/hosts');
      return body.hosts.length === 2 && body.hosts.every((h) => h.connectivity === 'Online' && h.sync === 'InSync' && h.lastAppliedRevision !== null && !h.reconciling);
    },
    60_000,
  );
  adminFile = join(dataDir, 'admin.token');
  writeFileSync(adminFile, `${ADMIN}\n`, { mode: 0o600 });
});

after(async () => {
  for (const proc of agents.values()) if (proc.exitCode === null) proc.kill('SIGTERM');
  await hub?.stop();
  dirs.forEach(removeDir);
});

const asUser = () => ({ env: { GITFLEET_CONFIG_DIR: configDir, GITFLEET_API_URL: '', GITFLEET_API_TOKEN: '', GITFLEET_HUB_URL: '', GITFLEET_HUB_TOKEN: '' } });

test('login checks the token, stores the URL and a 0600 token file; later commands need no flags', async () => {
  const wrong = await gitfleet(['login', hub.url], { ...asUser(), input: 'not-a-token\n' });
  assert.equal(wrong.code, 3, wrong.stderr);
  assert.match(wrong.stderr, /refused the token \(401\)/);
  const r = await gitfleet(['login', hub.url, '--token-file', adminFile], asUser());
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`logged in to ${hub.url} as admin`));
  assert.equal(statSync(join(configDir, 'hub.token')).mode & 0o777, 0o600);
  assert.equal(statSync(configDir).mode & 0o777, 0o700);
  const hosts = await gitfleet(['hosts'], asUser());
  assert.equal(hosts.code, 0, hosts.stderr);
  assert.match(hosts.stdout, /^HOST\s+SYNC\s+CONNECTIVITY\s+APPLIED\s+TAGS$/m);
  assert.match(hosts.stdout, /^app-1\s+InSync\s+Online\s+[0-9a-f]{12}\s+lab$/m);
  assert.match(hosts.stdout, /^app-2\s+InSync\s+Online/m);
});

test('hosts filters by tag and state; --json is the hub\'s answer', async () => {
  const json = await gitfleet(['hosts', '--json', '--tag', 'lab'], asUser());
  assert.equal(json.code, 0);
  assert.deepEqual((JSON.parse(json.stdout) as { hosts: HostSummary[] }).hosts.map((h) => h.id).sort(), ['app-1', 'app-2']);
  const none = await gitfleet(['hosts', '--state', 'Failed'], asUser());
  assert.equal(none.code, 0);
  assert.equal(none.stdout, 'no hosts\n');
  const bad = await gitfleet(['hosts', '--state', 'Borked'], asUser());
  assert.equal(bad.code, 1, 'the hub refuses an unknown state');
  assert.match(bad.stderr, /the hub answered 400/);
});

test('status HOST: conditions, last attempts; an unknown host is 1', async () => {
  const r = await gitfleet(['status', 'app-1'], asUser());
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^host: app-1$/m);
  assert.match(r.stdout, /^Ready=true /m);
  assert.match(r.stdout, /^last attempts \(newest first\):$/m);
  assert.match(r.stdout, /Succeeded\s+[0-9a-f]{12}\s+startup\s+1 change\(s\), 0 drift correction\(s\)/);
  const fleet = await gitfleet(['status'], asUser());
  assert.equal(fleet.code, 0, fleet.stdout);
  assert.match(fleet.stdout, /^hosts: 2$/m);
  const unknown = await gitfleet(['status', 'nope-9'], asUser());
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /the hub knows no host nope-9/);
});

test('reconcile --tag --wait follows the hosts until each has reconciled; a viewer may not', async () => {
  const viewer = await gitfleet(['reconcile', 'app-1', '--hub', hub.url, '--token', VIEWER], asUser());
  assert.equal(viewer.code, 1);
  assert.match(viewer.stderr, /403/);
  const r = await gitfleet(['reconcile', '--tag', 'lab', '--wait', '--timeout', '60s'], { ...asUser(), timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^reconcile requested: 2 host\(s\) reached$/m);
  assert.match(r.stdout, /^ {2}app-1\s+InSync\s+applied [0-9a-f]{12}\s+\(\d+\.\d+s\)$/m);
  assert.match(r.stdout, /^ {2}app-2\s+InSync/m);
  const events = await api<{ events: Array<{ reason: string }> }>(hub.url, '/api/v1/hosts/app-2/events');
  assert.ok(events.body.events.some((e) => e.reason === 'ReconcileRequested'));
});

test('could not tell (3) is not unhealthy (1): hub down or token refused vs a host offline', async () => {
  const down = await gitfleet(['status', '--hub', 'http://127.0.0.1:9', '--token', VIEWER], asUser());
  assert.equal(down.code, 3);
  const refused = await gitfleet(['status', '--hub', hub.url, '--token', 'wrong-token'], asUser());
  assert.equal(refused.code, 3);
  agents.get('app-2')!.kill('SIGTERM');
  await waitFor('app-2 offline', async () => (await api<{ summary: HostSummary }>(hub.url, '/api/v1/hosts/app-2')).body.summary.connectivity === 'Offline', 30_000);
  const unhealthy = await gitfleet(['status'], asUser());
  assert.equal(unhealthy.code, 1, unhealthy.stdout);
  assert.match(unhealthy.stdout, /needs attention \(1 of 1\):\n {2}app-2/);
  const hosts = await gitfleet(['hosts'], asUser());
  assert.equal(hosts.code, 1);
  const notConnected = await gitfleet(['reconcile', 'app-2'], asUser());
  assert.equal(notConnected.code, 1);
  assert.match(notConnected.stdout, /1 not connected: app-2/);
});

test('host reset-credential forgets the credential', async () => {
  const r = await gitfleet(['host', 'reset-credential', 'app-2'], asUser());
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^app-2: credential forgotten/);
  const detail = await api<{ summary: HostSummary }>(hub.url, '/api/v1/hosts/app-2');
  assert.equal(detail.body.summary.enrolled, false);
  const unknown = await gitfleet(['host', 'reset-credential', 'nope-9'], asUser());
  assert.equal(unknown.code, 1);
});
