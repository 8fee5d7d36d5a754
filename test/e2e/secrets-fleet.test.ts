// Secrets end to end: a real hub (SQLite, reading the fleet repo itself), a real
// agent daemon with its own age key, the CLI as an operator runs it. The agent
// reports its public key; `gitfleet secret recipients/encrypt --tag` take it from
// the hub; the agent decrypts, applies, corrects drift on the secret file. Then
// a grep over every byte the hub stored (its data directory: SQLite and WAL),
// every hub and agent log line (debug level) and every file of the agent's
// state directory finds no secret value. A container gets the password as a
// `secrets:` file (real Docker): read at /run/secrets/NAME inside it, and in
// no field of `docker inspect`.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createIdentityFile } from '../../repo/secrets/age-key.ts';
import { ENROLL, VIEWER, api, removeDir, startHubProcess, tempDir, waitFor, type HubProcess } from '../integration/hub-harness.ts';
import { cliEntry, gitfleet, repoRoot } from '../helpers/gitfleet-cli.ts';
import type { HostSummary } from '../../hub/fleet/fleet-index.ts';
import { DockerTestHarness, TEST_IMAGE, dockerMissingReason } from '../harness/docker.ts';
import { requireComponent } from '../harness/require.ts';

const PASSWORD = 'pw-e2e-Lk3Jh8Gf2Ds9';
const TOKEN = 'tok-e2e-Qw7Er4Ty1Ui6';
const dirs: string[] = [];
let hub: HubProcess | null = null;
let agent: ChildProcess | null = null;
const docker = new DockerTestHarness();
const app = docker.name('e2e-secret-app');
after(async () => {
  agent?.kill('SIGTERM');
  await hub?.stop();
  await docker.cleanup();
  rmSync(`/var/lib/gitfleet/secrets/${app}`, { recursive: true, force: true });
  for (const d of dirs) removeDir(d);
});

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' };
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { env: gitEnv }).toString().trim();

function everyFile(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

test('a secret reaches its host and nothing else: hub database, logs and state hold no secret value', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  const [dataDir, fleet, target, stateDir, keys] = ['hub', 'fleet', 'target', 'state', 'keys'].map((p) => tempDir(`secrets-e2e-${p}`)) as [string, string, string, string, string];
  dirs.push(dataDir, fleet, target, stateDir, keys);
  const hostKey = join(keys, 'host.key');
  const operatorKey = join(keys, 'operator.key');
  const hostRecipient = await createIdentityFile(hostKey);
  const operatorRecipient = await createIdentityFile(operatorKey);
  const viewerFile = join(keys, 'viewer.token');
  writeFileSync(viewerFile, `${VIEWER}\n`, { mode: 0o600 });

  mkdirSync(join(fleet, 'lab', 'sec-1'), { recursive: true });
  writeFileSync(join(fleet, 'lab', 'sec-1', 'host.yaml'), '{}\n');
  writeFileSync(join(fleet, 'lab', 'sec-1', 'app.yaml'), `files:\n  ${target}/plain.conf:\n    content: "plain\\n"\n`);
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'a lab host']]) git(fleet, ...args);
  hub = await startHubProcess({ dataDir, env: { GITFLEET_HUB_REPO: fleet, GITFLEET_HUB_REF: 'main', GITFLEET_HUB_POLL_INTERVAL: '2s', GITFLEET_HUB_LOG_LEVEL: 'debug' } });

  let agentOut = '';
  agent = spawn(process.execPath, ['--import', 'tsx', cliEntry, 'agent', '--repo', fleet, '--host', 'sec-1', '--state-dir', stateDir, '--files-allow', target], {
    cwd: repoRoot,
    env: {
      ...process.env, GITFLEET_AGENT_HUB: hub.agentUrl, GITFLEET_TOKEN: ENROLL, GITFLEET_INTERVAL: '2s', GITFLEET_DRIFT_INTERVAL: '2s', GITFLEET_LOG_LEVEL: 'debug',
      GITFLEET_AGE_IDENTITY_FILE: hostKey, GITFLEET_POLICY: join(keys, 'no-policy.yaml'), GITFLEET_DOCKER_SOCKET: docker.socketPath,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  agent.stdout!.on('data', (d: Buffer) => (agentOut += d.toString()));
  agent.stderr!.on('data', (d: Buffer) => (agentOut += d.toString()));

  const hostIs = (check: (h: HostSummary) => boolean) =>
    waitFor('the host on the hub', async () => (await api<{ hosts: HostSummary[] }>(hub!.url, '/api/v1/hosts')).body.hosts.find((h) => h.id === 'sec-1' && check(h)), 60_000);
  await hostIs((h) => h.connectivity === 'Online' && h.sync === 'InSync');

  // The hub shows the host's public key; the CLI lists and uses it.
  const detail = await api<{ facts: { age?: { recipient: string } } }>(hub.url, '/api/v1/hosts/sec-1');
  assert.equal(detail.body.facts.age?.recipient, hostRecipient);
  const hubFlags = ['--hub', hub.url, '--token-file', viewerFile];
  const listed = await gitfleet(['secret', 'recipients', '--tag', 'lab', ...hubFlags]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.stdout.trim(), `sec-1  ${hostRecipient}`);

  const plain = join(keys, 'secrets.yaml');
  const container = { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', labels: docker.labels, stop_grace_period: '1s', secrets: { db_password: '${db_password}' } };
  writeFileSync(plain, `vars:\n  db_password: ${PASSWORD}\nfiles:\n  ${target}/app.env:\n    content: "TOKEN=${TOKEN}\\nDB=\${db_password}\\n"\n    mode: "0600"\ncontainers:\n  ${app}: ${JSON.stringify(container)}\n`);
  const enc = await gitfleet(['secret', 'encrypt', '--tag', 'lab', '--recipient', operatorRecipient, '--output', join(fleet, 'lab', 'sec-1', 'secrets.sops.yaml'), plain, ...hubFlags]);
  assert.equal(enc.code, 0, enc.stderr);
  git(fleet, 'add', '-A');
  git(fleet, 'commit', '-q', '-m', 'secrets');
  const head = git(fleet, 'rev-parse', 'HEAD');
  await hostIs((h) => h.lastAppliedRevision === head && h.sync === 'InSync');
  assert.equal(readFileSync(join(target, 'app.env'), 'utf8'), `TOKEN=${TOKEN}\nDB=${PASSWORD}\n`);
  assert.equal(execFileSync('docker', ['exec', app, 'cat', '/run/secrets/db_password'], { encoding: 'utf8' }), PASSWORD);
  assert.ok(!execFileSync('docker', ['inspect', app], { encoding: 'utf8' }).includes(PASSWORD), 'docker inspect holds no secret');

  // Drift on the secret file: corrected, reported without content.
  writeFileSync(join(target, 'app.env'), `TOKEN=${TOKEN}-edited\n`);
  await waitFor('drift corrected', () => readFileSync(join(target, 'app.env'), 'utf8') === `TOKEN=${TOKEN}\nDB=${PASSWORD}\n`, 30_000);
  // The correction's event and attempt reach the hub (so the grep below covers them): wait until it holds both.
  const secretFile = `file/${join(target, 'app.env')}`;
  const corrected = await waitFor('the drift correction of the secret file at the hub', async () => {
    const d = (await api<{ events: { reason: string; message: string; resource?: string }[]; attempts: { driftCorrected: string[] }[] }>(hub!.url, '/api/v1/hosts/sec-1')).body;
    const event = d.events.some((e) => e.reason.startsWith('drift:') && e.resource === secretFile);
    const attempt = d.attempts.some((a) => a.driftCorrected.some((line) => line.includes(secretFile)));
    return event && attempt ? d : undefined;
  }, 30_000);
  assert.ok(corrected.events.length > 0);

  agent.kill('SIGTERM');
  await new Promise((r) => agent!.once('exit', r));
  agent = null;
  await hub.stop();
  const hubLogs = JSON.stringify(hub.logs);
  hub = null;

  const leaks: string[] = [];
  const check = (label: string, bytes: string) => {
    for (const s of [PASSWORD, TOKEN]) if (bytes.includes(s)) leaks.push(`${label} holds ${s === PASSWORD ? 'the password' : 'the token'}`);
  };
  const stored = everyFile(dataDir);
  assert.ok(stored.some((f) => /\.(db|sqlite)$/.test(f)), `the hub's SQLite file is in ${dataDir}: ${stored.join(', ')}`);
  for (const f of stored) check(f, readFileSync(f, 'latin1'));
  for (const f of everyFile(stateDir)) check(f, readFileSync(f, 'latin1'));
  check('hub log', hubLogs);
  check('agent log', agentOut);
  assert.ok(agentOut.split('\n').length > 10, 'the agent logged at debug level');
  assert.deepEqual(leaks, []);
});
