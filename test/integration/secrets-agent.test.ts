// Secrets on a real host: the agent (real composition root, real Git repo, real
// Docker, real files) decrypts a *.sops.yaml layer with its own age key; the
// container gets the secret in its env, a file gets it as content (0600); not
// one byte of any secret is in the state directory, the status, the events or
// the logs; drift on a secret file shows "changed" with no content; a file the
// host's key cannot open, or a tampered one, is refused naming the file and
// the host's public key, and the host stays on its last good revision. A
// container's `secrets:` entry is a 0400 file mounted at /run/secrets/NAME,
// not in docker inspect; a new value restarts the container; removal prunes it.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { createIdentityFile } from '../../repo/secrets/age-key.ts';
import { encryptSops, GITFLEET_ENCRYPTED_REGEX } from '../../repo/secrets/sops.ts';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { MASK } from '../../shared/secrets/mask.ts';
import { DockerTestHarness, TEST_IMAGE, dockerMissingReason } from '../harness/docker.ts';
import { missingGitServer } from '../harness/git-servers.ts';
import { requireComponent } from '../harness/require.ts';
import { fleetFixture, type FleetFixture } from '../helpers/agent-fixture.ts';

const docker = new DockerTestHarness();
const rules = { encryptedRegex: GITFLEET_ENCRYPTED_REGEX };
const db = docker.name('secret-db');
const work = mkdtempSync(join(tmpdir(), 'gf-secrets-'));
const filesDir = join(work, 'files');
const keyFile = join(work, 'age.key');
const secretFile = join(filesDir, 'app.env');
const plainFile = join(filesDir, 'motd');
// Distinct, greppable values; the password is long, the token built into a string with ${…}.
const PASSWORD = 'pw-Zq8xV3mK1tR7nB2c';
const TOKEN = 'tok-4hJ9sL2pQ6wE8yU1';
let fleet: FleetFixture;
let recipient = '';
let missing: string | null = null;

before(async () => {
  missing = (await dockerMissingReason()) ?? missingGitServer('daemon');
  if (missing !== null) return;
  mkdirSync(filesDir, { recursive: true });
  recipient = await createIdentityFile(keyFile);
  fleet = await fleetFixture({ host: 'sec-h1', config: { age: { identityFile: keyFile }, files: { allow: [filesDir] } } });
});
after(async () => {
  await docker.cleanup();
  fleet?.dispose();
  rmSync(work, { recursive: true, force: true });
});

const apps = {
  containers: { [db]: { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', labels: docker.labels, stop_grace_period: '1s', env: { DB_PASSWORD: '${db_password}', MODE: 'plain' } } },
  files: { [plainFile]: { content: 'welcome\n', drift: 'report' } },
};
const secretLayer = {
  vars: { db_password: PASSWORD },
  files: { [secretFile]: { content: `TOKEN=${TOKEN}\n`, mode: '0600', drift: 'report' } },
};

function everyFileUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

function assertNoSecretIn(label: string, text: string): void {
  for (const s of [PASSWORD, TOKEN]) assert.ok(!text.includes(s), `${label} holds a secret value`);
}

test('the host decrypts its layer: container env and file content get the secrets, nothing else does', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  fleet.commitRaw({
    'sec-h1/host.yaml': '{}\n',
    'sec-h1/apps.yaml': stringify(apps),
    'sec-h1/secrets.sops.yaml': await encryptSops(secretLayer, [recipient], rules),
  }, 'secrets');
  const agent = await fleet.agent();
  const outcome = await agent.cycle.run('startup');
  assert.equal(outcome.result, 'Succeeded', outcome.message);
  assert.ok((await docker.inspect(db)).Config.Env.includes(`DB_PASSWORD=${PASSWORD}`));
  assert.equal(readFileSync(secretFile, 'utf8'), `TOKEN=${TOKEN}\n`);
  assert.equal(statSync(secretFile).mode & 0o777, 0o600);

  // Drift on the secret file and on a plain one: the diff shows no content of either side.
  writeFileSync(secretFile, `TOKEN=${TOKEN}-edited-by-hand\n`);
  writeFileSync(plainFile, 'someone put a password here: hunter2hunter2\n');
  const second = await agent.cycle.run('drift-check');
  assert.equal(second.result, 'NoChange', second.message);
  const status = agent.recorder.snapshot;
  const secretDiff = status.resources.find((r) => r.id === `file/${secretFile}`)?.diff ?? [];
  assert.deepEqual(secretDiff.find((d) => d.field === 'content'), { field: 'content', desired: MASK, live: 'changed' });
  const plainDiff = status.resources.find((r) => r.id === `file/${plainFile}`)?.diff.find((d) => d.field === 'content');
  assert.match(String(plainDiff?.live), /^sha256:[0-9a-f]{12}… \(\d+ bytes\)$/);
  assert.ok(!JSON.stringify(status).includes('hunter2'), 'live content of a drifted file is never reported');

  // Every byte of the state directory (status.json, inventory, revisions, the Git cache) and the status.
  for (const f of everyFileUnder(fleet.stateDir)) assertNoSecretIn(f, readFileSync(f, 'latin1'));
  assertNoSecretIn('status', JSON.stringify(status));
  assertNoSecretIn('attempts', JSON.stringify(status.attempts));
});

test('a file the host cannot decrypt is refused naming the file and the host key; the last good revision stays', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  const agent = await fleet.agent();
  const good = (await agent.store.loadRevisions()).lastApplied;
  const stranger = await identityToRecipient(await generateX25519Identity());
  fleet.commitRaw({ 'sec-h1/secrets.sops.yaml': await encryptSops(secretLayer, [stranger], rules) }, 'not for this host');
  const outcome = await agent.cycle.run('poll');
  assert.equal(outcome.result, 'Refused');
  assert.equal(outcome.reason, 'SECRET_NOT_RECIPIENT');
  assert.ok(outcome.message?.includes('sec-h1/secrets.sops.yaml') && outcome.message.includes(recipient), outcome.message);
  assert.equal((await agent.store.loadRevisions()).lastApplied, good);
  assert.ok((await docker.inspect(db)).Config.Env.includes(`DB_PASSWORD=${PASSWORD}`), 'the container keeps running on the last good revision');
  // A commit refusal is not retried until the head or the config changes.
  const attempts = agent.recorder.snapshot.attempts.length;
  const again = await agent.cycle.run('poll');
  assert.equal(again.result, 'Refused');
  assert.equal(again.refused?.reason, 'SECRET_NOT_RECIPIENT');
  assert.equal(agent.recorder.snapshot.attempts.length, attempts, 'the refused head was not evaluated again');
});

test('a tampered file (a value edited without the key) is refused with SECRET_TAMPERED', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  const agent = await fleet.agent();
  const good = await encryptSops(secretLayer, [recipient], rules);
  const doc = parse(good) as { vars: Record<string, string>; files: Record<string, { content: string }> };
  // Put another value's ciphertext here: valid ENC, wrong place.
  doc.vars.db_password = doc.files[secretFile]!.content;
  fleet.commitRaw({ 'sec-h1/secrets.sops.yaml': stringify(doc) }, 'tampered');
  const outcome = await agent.cycle.run('poll');
  assert.equal(outcome.result, 'Refused');
  assert.equal(outcome.reason, 'SECRET_TAMPERED');
  assert.ok(outcome.message?.includes('sec-h1/secrets.sops.yaml'));
  for (const f of everyFileUnder(fleet.stateDir)) assertNoSecretIn(f, readFileSync(f, 'latin1'));
});

test('a container secrets: entry from an encrypted layer: a 0400 root file mounted at /run/secrets, never in docker inspect; a new value restarts the container; removal prunes the file', async (t) => {
  if (!requireComponent(t, 'Docker engine and git', missing)) return;
  const agent = await fleet.agent();
  const app = docker.name('secret-app');
  const hostFile = `/var/lib/gitfleet/secrets/${app}/api_key`;
  t.after(() => rmSync(`/var/lib/gitfleet/secrets/${app}`, { recursive: true, force: true }));
  const API_KEY = 'key-Vb6Nc3Xz8Lk2Jh5G';
  const API_KEY2 = 'key-Wd1Fr7Ty4Ui9Op3A';
  const withApp = (value: string) => ({
    containers: { ...apps.containers, [app]: { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', labels: docker.labels, stop_grace_period: '1s', user: '65534:65534', secrets: { api_key: '${api_key}', for_user: { content: '${api_key}', uid: 65534, target: 'user/key' } } } },
    files: apps.files,
    vars: { api_key: value },
  });
  const commit = async (value: string, message: string) => {
    const { vars, ...rest } = withApp(value);
    fleet.commitRaw({ 'sec-h1/apps.yaml': stringify(rest), 'sec-h1/secrets.sops.yaml': await encryptSops({ ...secretLayer, vars: { ...secretLayer.vars, ...vars } }, [recipient], rules) }, message);
  };
  // The container runs as 65534: the root-owned 0400 file is root's only; the one given uid 65534 is its user's.
  const cat = () => execFileSync('docker', ['exec', '-u', '0', app, 'cat', '/run/secrets/api_key'], { encoding: 'utf8' });
  const catAsUser = (path: string) => spawnSync('docker', ['exec', app, 'cat', path], { encoding: 'utf8' });
  const assertNoKeyAnywhere = (value: string) => {
    const inspect = execFileSync('docker', ['inspect', app], { encoding: 'utf8' });
    assert.ok(!inspect.includes(value), 'docker inspect (env, labels, config) holds no secret');
    for (const f of everyFileUnder(fleet.stateDir)) assert.ok(!readFileSync(f, 'latin1').includes(value), `${f} holds the secret`);
    assert.ok(!JSON.stringify(agent.recorder.snapshot).includes(value), 'the status holds the secret');
  };

  // The first test left both files drifted (drift: report, so never corrected): put them back.
  writeFileSync(secretFile, `TOKEN=${TOKEN}\n`);
  writeFileSync(plainFile, 'welcome\n');
  await commit(API_KEY, 'container secret');
  const first = await agent.cycle.run('poll');
  assert.equal(first.result, 'Succeeded', first.message);
  assert.equal(cat(), API_KEY);
  assert.equal(catAsUser('/run/secrets/user/key').stdout, API_KEY, 'uid: the container user reads its secret');
  assert.match(catAsUser('/run/secrets/api_key').stderr, /Permission denied/, 'mode 0400 root: the container user cannot');
  assert.equal(statSync(`/var/lib/gitfleet/secrets/${app}/for_user`).uid, 65534);
  const st = statSync(hostFile);
  assert.equal(st.mode & 0o777, 0o400);
  assert.equal(st.uid, 0);
  const before1 = await docker.inspect(app);
  assert.ok(!before1.Config.Env.some((e) => e.includes(API_KEY)));
  assert.deepEqual(before1.Mounts.filter((m) => m.Destination === '/run/secrets/api_key').map((m) => [m.Source, m.RW]), [[hostFile, false]]);
  assertNoKeyAnywhere(API_KEY);

  await commit(API_KEY2, 'rotate the key');
  const second = await agent.cycle.run('poll');
  assert.equal(second.result, 'Succeeded', second.message);
  const after2 = await docker.inspect(app);
  assert.equal(after2.Id, before1.Id, 'restarted, not recreated: the config did not change');
  assert.notEqual(after2.State.StartedAt, before1.State.StartedAt, 'the container was restarted (notified by its secret file)');
  assert.equal(cat(), API_KEY2);
  assert.equal(catAsUser('/run/secrets/user/key').stdout, API_KEY2);
  assertNoKeyAnywhere(API_KEY2);
  assertNoKeyAnywhere(API_KEY);

  // The container goes: its secret file goes with it.
  fleet.commitRaw({ 'sec-h1/apps.yaml': stringify(apps), 'sec-h1/secrets.sops.yaml': await encryptSops(secretLayer, [recipient], rules) }, 'no app');
  const third = await agent.cycle.run('poll');
  assert.equal(third.result, 'Succeeded', third.message);
  assert.equal(await docker.exists(app), false);
  assert.throws(() => statSync(hostFile), /ENOENT/);
});

test('log lines are masked: the agent logger replaces secret values, also inside strings built from them', () => {
  const script = `
    import { createLogger } from './agent/logger.ts';
    import { processSecrets } from './shared/secrets/mask.ts';
    processSecrets.add([${JSON.stringify(PASSWORD)}]);
    const log = createLogger({ level: 'debug' }).child({ component: 'x' });
    log.info({ env: { DB_PASSWORD: ${JSON.stringify(PASSWORD)} } }, 'url postgres://u:' + ${JSON.stringify(PASSWORD)} + '@db');
    log.error({ err: new Error('failed with ' + ${JSON.stringify(PASSWORD)}) }, 'step failed');
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '../..') }).toString();
  assert.equal(out.trim().split('\n').length, 2);
  assert.ok(!out.includes(PASSWORD), out);
  assert.ok(out.includes(MASK));
});
