// The real CLI on a real signed repository: `gitfleet agent --once` on a head
// that is not signed by a trusted key exits 1 and says why on stdout (it used
// to print "converged" and exit 0 while the host silently stayed behind).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { requireComponent } from '../harness/require.ts';
import { WorkRepo, makeSshKey, missingGitServer, tempDir } from '../harness/git-servers.ts';

const root = resolve(import.meta.dirname, '../..');
const work = tempDir('refused-head');
after(() => rmSync(work, { recursive: true, force: true }));

function once(env: Record<string, string>, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'agent', '--once', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', fail);
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

test('agent --once on an unsigned head (verify.allowedSigners set): exit 1, the refused head and GIT_UNTRUSTED on stdout', async (t) => {
  if (!requireComponent(t, 'git and ssh-keygen', missingGitServer('ssh-keygen'))) return;
  const repo = new WorkRepo(join(work, 'fleet.git'));
  t.after(() => repo.dispose());
  const key = makeSshKey(work, 'release-signer');
  const allowedSigners = join(work, 'allowed_signers');
  writeFileSync(allowedSigners, `release@example.test namespaces="git" ${key.publicKey}\n`);
  const filesDir = join(work, 'files');
  const tree = (greeting: string) => ({
    'h1/host.yaml': '',
    'h1/apps.yaml': stringify({ files: { [join(filesDir, 'motd')]: { content: `${greeting}\n` } } }),
  });
  const env = { GITFLEET_VERIFY_ALLOWED_SIGNERS: allowedSigners, GITFLEET_FILES_ALLOW: filesDir, GITFLEET_DOCKER_SOCKET: join(work, 'no-docker.sock') };
  const args = ['--repo', repo.bare, '--host', 'h1', '--state-dir', join(work, 'state')];

  const good = repo.commit(tree('signed'), 'signed', { ssh: key.privateKey });
  repo.push();
  const first = await once(env, args);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.match(first.stdout, new RegExp(`converged at ${good.slice(0, 12)}`));
  assert.equal(readFileSync(join(filesDir, 'motd'), 'utf8'), 'signed\n');

  const unsigned = repo.commit(tree('unsigned'), 'unsigned');
  repo.push();
  for (const run of [1, 2]) {
    const refused = await once(env, args);
    assert.equal(refused.code, 1, `run ${run}: ${refused.stdout}${refused.stderr}`);
    assert.match(refused.stdout, new RegExp(`refused head ${unsigned.slice(0, 12)}; the host stays at ${good.slice(0, 12)}`), refused.stdout);
    assert.match(refused.stdout, /reason: GIT_UNTRUSTED — .*not signed/, refused.stdout);
    assert.doesNotMatch(refused.stdout, /converged/);
  }
  assert.equal(readFileSync(join(filesDir, 'motd'), 'utf8'), 'signed\n', 'the unsigned head was not applied');

  const json = await once(env, [...args, '--json']);
  assert.equal(json.code, 1);
  const parsed = JSON.parse(json.stdout) as { outcome: { result: string; converged: boolean }; status: { refused: { revision: string; reason: string }; conditions: Array<{ type: string; status: boolean; reason: string }> } };
  assert.equal(parsed.outcome.result, 'Refused');
  assert.equal(parsed.outcome.converged, false);
  assert.equal(parsed.status.refused.revision, unsigned);
  assert.deepEqual(parsed.status.conditions.find((c) => c.type === 'Stalled'), { ...parsed.status.conditions.find((c) => c.type === 'Stalled'), status: true, reason: 'GIT_UNTRUSTED' });

  // Signed again: applied, exit 0.
  const fixed = repo.commit(tree('signed again'), 'signed again', { ssh: key.privateKey });
  repo.push();
  const last = await once(env, args);
  assert.equal(last.code, 0, last.stdout);
  assert.match(last.stdout, new RegExp(`converged at ${fixed.slice(0, 12)}`));
  assert.equal(readFileSync(join(filesDir, 'motd'), 'utf8'), 'signed again\n');
});
