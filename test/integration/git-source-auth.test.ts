// The Git source against real servers on loopback: every auth kind, wrong
// credentials, ref kinds, a deleted repository and a missing ref.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GitSource, type GitSourceConfig } from '../../repo/git/index.ts';
import { isGitfleetError, type ErrorCode } from '../../shared/errors.ts';
import { requireComponent } from '../harness/require.ts';
import { GitDaemon, HttpGitServer, SshGitServer, WorkRepo, makeSshKey, missingGitServer, tempDir } from '../harness/git-servers.ts';

const root = tempDir('git-auth');
const password = 'pa55-word-never-shown';
const token = 'tok-0123456789-secret';
let work: WorkRepo;
let head: string;
let daemon: GitDaemon;
let http: HttpGitServer;
let ssh: SshGitServer | null = null;
let deployKey: { privateKey: string; publicKey: string };
const files = {
  password: join(root, 'password'),
  token: join(root, 'token'),
  wrong: join(root, 'wrong'),
};

before(async () => {
  work = new WorkRepo(join(root, 'srv', 'fleet.git'));
  work.commit({ 'fleet/prod/web-01/host.yaml': 'tags: []\n', 'README.md': 'fleet\n' }, 'first');
  head = work.commit({ 'fleet/base.yaml': 'files: {}\n' }, 'second');
  work.push('main');
  work.git(['tag', 'v1', 'HEAD~1']);
  work.git(['tag', '-a', '-m', 'release 2', 'v2', 'HEAD']);
  work.pushTag('v1');
  work.pushTag('v2');
  writeFileSync(files.password, `${password}\n`);
  writeFileSync(files.token, `${token}\n`);
  writeFileSync(files.wrong, 'not-the-password\n');
  daemon = new GitDaemon(join(root, 'srv'));
  http = new HttpGitServer({ root: join(root, 'srv'), users: { deploy: password, 'x-access-token': token } });
  await http.start();
  if (missingGitServer('daemon') === null) await daemon.start();
  if (missingGitServer('ssh') === null) {
    deployKey = makeSshKey(root, 'deploy');
    ssh = new SshGitServer({ authorizedKey: deployKey.publicKey });
    await ssh.start();
  }
});

after(async () => {
  await http.stop();
  await daemon.stop();
  await ssh?.dispose();
  work.dispose();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function source(config: Partial<GitSourceConfig> & { repo: string }): GitSource {
  return new GitSource({ ref: 'main', path: 'fleet', ...config }, { cacheDir: join(root, `cache-${n++}`), timeoutMs: 20_000 });
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode, ...secrets: string[]): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isGitfleetError(error), `expected a GitfleetError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const s of secrets) {
      assert.ok(!error.message.includes(s), `the message leaks a secret: ${error.message}`);
      assert.ok(!String((error.cause as Error | undefined)?.message ?? '').includes(s), 'the cause leaks a secret');
    }
    return error;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

async function expectSynced(src: GitSource, revision = head): Promise<void> {
  assert.equal(await src.remoteRevision(), revision);
  const snap = await src.sync({ lastApplied: null });
  assert.equal(snap.revision, revision);
  assert.equal(readFileSync(join(snap.treeDir, 'prod/web-01/host.yaml'), 'utf8'), 'tags: []\n');
  assert.ok(snap.treeDir.endsWith('/fleet'));
}

test('local path and file:// remotes', async () => {
  await expectSynced(source({ repo: work.bare }));
  await expectSynced(source({ repo: `file://${work.bare}` }));
});

test('git:// (git daemon)', async (t) => {
  if (!requireComponent(t, 'git daemon', missingGitServer('daemon'))) return;
  await expectSynced(source({ repo: daemon.url('fleet.git') }));
});

test('https Basic auth with username + passwordFile; the password never leaves the header', async (t) => {
  if (!requireComponent(t, 'git-http-backend', missingGitServer('http'))) return;
  await expectSynced(source({ repo: http.url('fleet.git'), git: { username: 'deploy', passwordFile: files.password } }));
});

test('https token from tokenFile', async (t) => {
  if (!requireComponent(t, 'git-http-backend', missingGitServer('http'))) return;
  await expectSynced(source({ repo: http.url('fleet.git'), git: { tokenFile: files.token } }));
});

test('wrong or missing https credentials: GIT_AUTH, no secret in the message', async (t) => {
  if (!requireComponent(t, 'git-http-backend', missingGitServer('http'))) return;
  const wrong = source({ repo: http.url('fleet.git'), git: { username: 'deploy', passwordFile: files.wrong } });
  const e1 = await expectCode(wrong.sync({ lastApplied: null }), 'GIT_AUTH', 'not-the-password', Buffer.from('deploy:not-the-password').toString('base64'));
  assert.match(e1.message, new RegExp(http.url('fleet.git').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
  await expectCode(source({ repo: http.url('fleet.git') }).remoteRevision(), 'GIT_AUTH');
  assert.throws(() => source({ repo: 'https://user:hunter2@example.test/x.git' }), (e: unknown) => isGitfleetError(e, 'CONFIG_INVALID') && !e.message.includes('hunter2'));
});

test('ssh:// and scp-style with a deploy key and a pinned known_hosts', async (t) => {
  if (!requireComponent(t, 'sshd', missingGitServer('ssh')) || ssh === null) return;
  const git = { sshKeyFile: deployKey.privateKey, knownHostsFile: ssh.knownHostsFile };
  await expectSynced(source({ repo: ssh.url(work.bare), git }));
  await expectSynced(source({ repo: ssh.scpUrl(work.bare), git }));
});

test('ssh: a key that is not authorized is GIT_AUTH; a host key that is not pinned is GIT_HOST_KEY', async (t) => {
  if (!requireComponent(t, 'sshd', missingGitServer('ssh')) || ssh === null) return;
  const stranger = makeSshKey(root, 'stranger');
  await expectCode(source({ repo: ssh.url(work.bare), git: { sshKeyFile: stranger.privateKey, knownHostsFile: ssh.knownHostsFile } }).remoteRevision(), 'GIT_AUTH');
  const otherHosts = join(root, 'other_known_hosts');
  writeFileSync(otherHosts, `${ssh.host} ${stranger.publicKey}\n`);
  await expectCode(source({ repo: ssh.url(work.bare), git: { sshKeyFile: deployKey.privateKey, knownHostsFile: otherHosts } }).remoteRevision(), 'GIT_HOST_KEY');
  const emptyHosts = join(root, 'empty_known_hosts');
  writeFileSync(emptyHosts, '');
  await expectCode(source({ repo: ssh.url(work.bare), git: { sshKeyFile: deployKey.privateKey, knownHostsFile: emptyHosts } }).remoteRevision(), 'GIT_HOST_KEY');
  await expectCode(source({ repo: ssh.url(work.bare) }).remoteRevision(), 'CONFIG_INVALID');
  await expectCode(source({ repo: ssh.url(work.bare), git: { sshKeyFile: deployKey.privateKey } }).remoteRevision(), 'CONFIG_INVALID');
});

test('ref kinds: branch, lightweight tag, annotated tag, full commit id, refs/heads/…', async () => {
  const first = work.git(['rev-parse', 'HEAD~1']);
  const v1 = await source({ repo: work.bare, ref: 'v1', path: '.' }).sync({ lastApplied: null });
  assert.equal(v1.revision, first);
  assert.equal(existsSync(join(v1.treeDir, 'fleet/base.yaml')), false);
  const v2 = source({ repo: work.bare, ref: 'v2' });
  assert.equal(await v2.remoteRevision(), head, 'an annotated tag resolves to its commit');
  assert.equal((await v2.sync({ lastApplied: null })).revision, head);
  const pinned = source({ repo: work.bare, ref: first, path: '.' });
  assert.equal(await pinned.remoteRevision(), first);
  assert.equal((await pinned.sync({ lastApplied: null })).subject, 'first');
  assert.equal((await source({ repo: work.bare, ref: 'refs/heads/main' }).sync({ lastApplied: null })).revision, head);
});

test('a missing ref, a missing commit, a deleted repository and a missing fleet path: GIT_NOT_FOUND', async (t) => {
  await expectCode(source({ repo: work.bare, ref: 'no-such-branch' }).remoteRevision(), 'GIT_NOT_FOUND');
  await expectCode(source({ repo: work.bare, ref: 'f'.repeat(40) }).sync({ lastApplied: null }), 'GIT_NOT_FOUND');
  await expectCode(source({ repo: join(root, 'srv', 'gone.git') }).remoteRevision(), 'GIT_NOT_FOUND');
  await expectCode(source({ repo: work.bare, path: 'no/such/dir' }).sync({ lastApplied: null }), 'GIT_NOT_FOUND');
  if (!requireComponent(t, 'git-http-backend', missingGitServer('http'))) return;
  await expectCode(source({ repo: http.url('gone.git'), git: { tokenFile: files.token } }).remoteRevision(), 'GIT_NOT_FOUND');
  if (missingGitServer('daemon') === null) await expectCode(source({ repo: daemon.url('gone.git') }).remoteRevision(), 'GIT_NOT_FOUND');
});

test('a branch deleted after a sync: GIT_NOT_FOUND, and the fetched snapshot stays usable', async () => {
  work.git(['branch', 'doomed', 'main']);
  work.push('doomed');
  const src = source({ repo: work.bare, ref: 'doomed' });
  const snap = await src.sync({ lastApplied: null });
  work.git(['push', '--quiet', work.bare, ':refs/heads/doomed']);
  await expectCode(src.sync({ lastApplied: snap.revision }), 'GIT_NOT_FOUND');
  assert.equal((await src.snapshot(snap.revision)).treeDir, snap.treeDir);
  assert.ok(readdirSync(snap.treeDir).includes('base.yaml'));
});
