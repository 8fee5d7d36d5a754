// Fault: the agent's state directory is on a filesystem that fills up while
// the agent runs and a new revision arrives. The real agent (the built CLI)
// must keep enforcing its last good revision, not crash, not corrupt its state
// files; once space is freed it must write its state and converge.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { requireComponent } from '../harness/require.ts';
import { dockerMissingReason } from '../harness/docker.ts';
import { WorkRepo, freePort, missingGitServer, tempDir } from '../harness/git-servers.ts';
import { AgentProcess, HubProcess, assertEventSeqs, bundleMissing, measured, sleep, waitFor } from '../harness/faults.ts';

const host = `gff-disk-${process.pid.toString(36)}`;
const work = tempDir('faults-disk');
const stateDir = join(work, 'state');
const filesDir = join(work, 'files');
const junk = join(stateDir, 'junk');
let mounted = false;
let hub: HubProcess | null = null;
let agent: AgentProcess | null = null;
let repo: WorkRepo | null = null;

after(async () => {
  await agent?.stop();
  await hub?.stop();
  if (mounted) spawnSync('umount', ['-l', stateDir]);
  repo?.dispose();
  rmSync(work, { recursive: true, force: true });
});

function commit(version: string, extra: Record<string, { content: string }> = {}): string {
  const files = { [join(filesDir, 'app.conf')]: { content: `version = ${version}\n` }, ...extra };
  const id = repo!.commit({ [`${host}/host.yaml`]: '', [`${host}/files.yaml`]: stringify({ files }) }, version);
  repo!.push();
  return id;
}

function missingTmpfs(): string | null {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  return readFileSync('/proc/filesystems', 'utf8').includes('tmpfs') ? null : 'the kernel has no tmpfs';
}

/** Every state file the agent keeps must parse; returns them. */
function stateFiles(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of ['inventory.json', 'revisions.json', 'status.json']) {
    const text = readFileSync(join(stateDir, name), 'utf8');
    out[name] = JSON.parse(text) as unknown; // throws on a torn or empty file
  }
  return out;
}

function freeBytes(): number {
  const out = execFileSync('df', ['--output=avail', '-B1', stateDir], { encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}

test('state directory on a full filesystem: the agent keeps enforcing, and converges once space is freed', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'tmpfs', missingTmpfs())) return;
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  if (!requireComponent(t, 'git', missingGitServer('daemon'))) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  mkdirSync(stateDir);
  mkdirSync(filesDir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', `gitfleet-${host}`, stateDir]);
  mounted = true;

  repo = new WorkRepo(join(work, 'fleet.git'));
  const v1 = commit('v1');
  hub = new HubProcess({ dataDir: join(work, 'hub'), port: await freePort() });
  await hub.start();
  agent = new AgentProcess({ repo: repo.bare, host, stateDir, hub, interval: '2s', env: { GITFLEET_FILES_ALLOW: filesDir } });
  agent.start();
  await hub.convergedAt(host, v1, 60_000).catch((e: unknown) => {
    throw new Error(`${String(e)}\nagent: ${agent!.tail()}`);
  });

  // Fill the filesystem to the last block, then push a new revision.
  const fill = spawnSync('dd', ['if=/dev/zero', `of=${junk}`, 'bs=64k'], { encoding: 'utf8' });
  assert.match(fill.stderr, /No space left on device/, 'dd stopped because the filesystem is full');
  assert.ok(freeBytes() < 64 * 1024, `the filesystem is full (${freeBytes()} bytes free)`);
  const filledAt = Date.now();
  const v2 = commit('v2', { [join(filesDir, 'new.conf')]: { content: 'new\n' } });

  // While full: hand drift on the managed file is still corrected (enforcing v1).
  await sleep(3000);
  unlinkSync(join(filesDir, 'app.conf'));
  await waitFor('the deleted file restored while the disk is full', 15_000, () => (existsSync(join(filesDir, 'app.conf')) ? true : undefined));
  assert.equal(readFileSync(join(filesDir, 'app.conf'), 'utf8'), 'version = v1\n', 'still the last good revision');
  assert.equal(existsSync(join(filesDir, 'new.conf')), false, 'the new revision could not be fetched into the full state directory');
  await sleep(4000); // a few more polls against the full disk
  assert.equal(agent.exited, null, `the agent is still running on a full disk\n${agent.tail()}`);
  // The agent's log reaches this process through a pipe, and a loaded machine runs its polls late: wait for the line.
  const enospcLines = () => agent!.logs.filter((l) => /No space left|ENOSPC/.test(JSON.stringify(l)));
  const enospc = await waitFor('the agent to log the full disk (a write or a fetch failed with ENOSPC)', 30_000, () => (enospcLines().length > 0 ? enospcLines() : undefined)).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${agent!.tail()}`);
  });
  t.diagnostic(`${enospc.length} log line(s) about the full disk, first: ${JSON.stringify(enospc[0]).slice(0, 300)}`);
  assert.ok(freeBytes() < 64 * 1024, 'still full: the agent did not free space by deleting its own state');
  const during = stateFiles();
  assert.equal((during['revisions.json'] as { lastApplied: string }).lastApplied, v1, 'revisions.json intact');
  const atHub = await hub.host(host);
  t.diagnostic(`while full, the hub says: sync ${atHub.summary.sync}, stalled ${atHub.summary.stalled}, applied ${atHub.summary.lastAppliedRevision?.slice(0, 7)}`);
  t.diagnostic(`full for ${Date.now() - filledAt} ms`);

  // Free the space: the agent writes its state and converges on v2.
  unlinkSync(junk);
  const freedAt = Date.now();
  await hub.convergedAt(host, v2, 30_000).catch((e: unknown) => {
    throw new Error(`${String(e)}\nagent: ${agent!.tail(30)}`);
  });
  measured(t, 'fault 2 (state directory on a full filesystem): space freed → converged at the new revision and reported at the hub', Date.now() - freedAt);
  assert.equal(readFileSync(join(filesDir, 'app.conf'), 'utf8'), 'version = v2\n');
  assert.equal(readFileSync(join(filesDir, 'new.conf'), 'utf8'), 'new\n');
  await waitFor('revisions.json to record v2', 10_000, () => ((stateFiles()['revisions.json'] as { lastApplied: string }).lastApplied === v2 ? true : undefined));
  const after = stateFiles();
  assert.equal((after['status.json'] as { lastAppliedRevision: string }).lastAppliedRevision, v2);
  // A temp file seen now may be a write in progress (the agent keeps writing its
  // state as it works); one left behind by a failed write never goes away.
  const tempFiles = () => readdirSync(stateDir).filter((n) => n.endsWith('.tmp'));
  const seen = tempFiles();
  await sleep(3000);
  const leftovers = seen.filter((n) => tempFiles().includes(n));
  assert.deepEqual(leftovers, [], 'no temp file left behind by a failed write');
  assert.equal(agent.exited, null);
  assertEventSeqs(await hub.events(host));

  // And it still writes: a further change is recorded on disk.
  writeFileSync(join(filesDir, 'app.conf'), 'hand edit\n');
  await waitFor('the hand edit corrected', 15_000, () => (readFileSync(join(filesDir, 'app.conf'), 'utf8') === 'version = v2\n' ? true : undefined));
});
