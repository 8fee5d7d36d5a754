// A bad remote and a damaged cache: the server stopped mid-run then restarted,
// a corrupt local clone (re-cloned automatically), and the snapshot guarantees
// (a published snapshot never changes; prune keeps what it is told to).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { GitSource } from '../../repo/git/index.ts';
import { isGitfleetError, type ErrorCode } from '../../shared/errors.ts';
import { requireComponent } from '../harness/require.ts';
import { HttpGitServer, WorkRepo, missingGitServer, tempDir } from '../harness/git-servers.ts';

const root = tempDir('git-resilience');
const tokenFile = join(root, 'token');
let work: WorkRepo;
let http: HttpGitServer;

before(async () => {
  work = new WorkRepo(join(root, 'srv', 'fleet.git'));
  writeFileSync(tokenFile, 'resilience-token\n');
  http = new HttpGitServer({ root: join(root, 'srv'), users: { 'x-access-token': 'resilience-token' } });
  await http.start();
});

after(async () => {
  await http.stop();
  work.dispose();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
const logLines: string[] = [];
const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { logLines.push(String(chunk)); done(); } }));
function source(): GitSource {
  return new GitSource({ repo: http.url('fleet.git'), ref: 'main', path: 'hosts', git: { tokenFile } }, { cacheDir: join(root, `cache-${n++}`), timeoutMs: 20_000, logger });
}
const recloned = () => logLines.filter((l) => l.includes('local clone is corrupt')).length;

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isGitfleetError(e), String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('server stopped mid-run: GIT_UNREACHABLE while down, recovery when it is back', async (t) => {
  if (!requireComponent(t, 'git-http-backend', missingGitServer('http'))) return;
  const c1 = work.commit({ 'hosts/web-01/host.yaml': '{}\n' }, 'c1');
  work.push();
  const src = source();
  const s1 = await src.sync({ lastApplied: null });
  await http.stop();
  const c2 = work.commit({ 'hosts/web-02/host.yaml': '{}\n' }, 'c2');
  work.push();
  await expectCode(src.remoteRevision(), 'GIT_UNREACHABLE');
  await expectCode(src.sync({ lastApplied: c1 }), 'GIT_UNREACHABLE');
  assert.ok(logLines.every((l) => !l.includes('resilience-token')), 'the token never reaches a log line');
  // The last good snapshot is untouched and still served.
  assert.equal((await src.snapshot(c1)).treeDir, s1.treeDir);
  assert.deepEqual(readdirSync(s1.treeDir), ['web-01']);
  await http.start();
  assert.equal(await src.remoteRevision(), c2);
  const s2 = await src.sync({ lastApplied: c1 });
  assert.equal(s2.revision, c2);
  assert.deepEqual(readdirSync(s2.treeDir).sort(), ['web-01', 'web-02']);
  assert.deepEqual(readdirSync(s1.treeDir), ['web-01'], 'the old snapshot did not change');
});

test('a corrupt local clone is re-cloned automatically', async (t) => {
  if (!requireComponent(t, 'git-http-backend', missingGitServer('http'))) return;
  const base = work.commit({ 'hosts/web-03/host.yaml': '{}\n' }, 'c3');
  work.push();
  const src = source();
  await src.sync({ lastApplied: null });
  const cache = join(root, `cache-${n - 1}`);
  const repo = join(cache, 'repo.git');
  const next = work.commit({ 'hosts/web-04/host.yaml': '{}\n' }, 'c4');
  work.push();

  // 1. every pack truncated: the objects are unreadable.
  for (const f of readdirSync(join(repo, 'objects', 'pack'))) truncateSync(join(repo, 'objects', 'pack', f), 10);
  rmSync(join(cache, 'snapshots'), { recursive: true, force: true });
  const s = await src.sync({ lastApplied: base });
  assert.equal(recloned(), 1);
  assert.equal(s.revision, next);
  assert.ok(existsSync(join(s.treeDir, 'web-04', 'host.yaml')));

  // 2. HEAD and config overwritten with garbage.
  writeFileSync(join(repo, 'HEAD'), 'garbage\n');
  writeFileSync(join(repo, 'config'), '[[[ not a config\n');
  assert.equal((await src.sync({ lastApplied: next })).revision, next);
  assert.equal(recloned(), 2);

  // 3. the whole object store gone.
  rmSync(join(repo, 'objects'), { recursive: true, force: true });
  rmSync(join(cache, 'snapshots'), { recursive: true, force: true });
  const s3 = await src.sync({ lastApplied: next });
  assert.equal(recloned(), 3);
  assert.equal(readFileSync(join(s3.treeDir, 'web-04', 'host.yaml'), 'utf8'), '{}\n');
});

test('snapshots: one per revision, changedPaths relative to the fleet tree, prune keeps what it is told', async () => {
  const a = work.commit({ 'hosts/web-05/host.yaml': '{}\n', 'outside.txt': 'x\n' }, 'c5');
  work.push();
  const src = source();
  const sa = await src.sync({ lastApplied: null });
  const b = work.commit({ 'hosts/web-05/app.yaml': 'files: {}\n', 'hosts/web-01/host.yaml': null, 'outside.txt': 'y\n' }, 'c6');
  work.push();
  const sb = await src.sync({ lastApplied: a });
  assert.notEqual(sa.treeDir, sb.treeDir);
  assert.deepEqual(await src.changedPaths(a, b), ['web-01/host.yaml', 'web-05/app.yaml']);
  const c = work.commit({ 'hosts/web-06/host.yaml': '{}\n' }, 'c7');
  work.push();
  const sc = await src.sync({ lastApplied: b });
  await src.prune([sc.revision, sa.revision]);
  assert.ok(existsSync(sa.treeDir) && existsSync(sc.treeDir));
  assert.equal(existsSync(sb.treeDir), false);
  // A pruned snapshot of a fetched revision is rebuilt on demand (rollback).
  assert.equal((await src.snapshot(b)).revision, b);
  assert.ok(existsSync(join(sb.treeDir, 'web-05', 'app.yaml')));
  await expectCode(src.snapshot('0'.repeat(40)), 'GIT_NOT_FOUND');
  await expectCode(src.changedPaths(c, '1'.repeat(40)), 'GIT_NOT_FOUND');
});

test('concurrent calls on one source are serialized and agree', async () => {
  const head = work.commit({ 'hosts/web-07/host.yaml': '{}\n' }, 'c8');
  work.push();
  const src = source();
  const results = await Promise.all([src.sync({ lastApplied: null }), src.sync({ lastApplied: null }), src.remoteRevision()]);
  assert.equal(results[0].revision, head);
  assert.equal(results[1].revision, head);
  assert.equal(results[2], head);
});
