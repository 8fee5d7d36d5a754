// The Git source's timeouts on a bad link (issue 18, flaky links), with a real
// git daemon behind the test harness's fault-injecting proxy:
//   - a fetch that is slow but moving is not killed: the silence timeout
//     measures silence (git's progress lines), not the transfer's duration;
//   - a poll (ls-remote) on a link that went silent fails within its own short
//     bound, so the agent's loop (which waits for it) gets back to enforcing
//     the last good revision instead of hanging for the fetch's full timeout.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GitSource, LS_REMOTE_TIMEOUT_MS } from '../../repo/git/git-source.ts';
import { isGitfleetError } from '../../shared/errors.ts';
import { requireComponent } from '../harness/require.ts';
import { GitDaemon, WorkRepo, missingGitServer, tempDir } from '../harness/git-servers.ts';
import { FlakyProxy } from '../harness/flaky-proxy.ts';
import { removeDir } from './hub-harness.ts';

const root = tempDir('git-slow-link');
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  removeDir(root);
});

async function setup(): Promise<{ link: FlakyProxy; work: WorkRepo; url: string }> {
  const work = new WorkRepo(join(root, 'srv', 'fleet.git'));
  work.commit({ 'hosts/edge/host.yaml': '{}\n', 'assets/blob.txt': randomBytes(450_000).toString('base64') }, 'c1');
  work.push();
  const daemon = new GitDaemon(join(root, 'srv'));
  await daemon.start();
  const link = new FlakyProxy({ host: '127.0.0.1', port: daemon.port });
  await link.start();
  cleanups.push(() => daemon.stop(), () => link.stop(), async () => work.dispose());
  return { link, work, url: `git://${link.address}/fleet.git` };
}

test('a slow fetch that keeps moving outlives the silence timeout; a silent poll fails within its bound', { timeout: 90_000 }, async (t) => {
  if (!requireComponent(t, 'git daemon', missingGitServer('daemon'))) return;
  const { link, url } = await setup();
  // ≈600 KB at 150 kB/s: about 4 s of transfer, twice the 2 s silence timeout.
  link.rateBytesPerSec = 150_000;
  const source = new GitSource({ repo: url, ref: 'main', path: 'hosts' }, { cacheDir: join(root, 'cache'), timeoutMs: 2000 });
  const started = Date.now();
  const snapshot = await source.sync({ lastApplied: null });
  const ms = Date.now() - started;
  t.diagnostic(`MEASURED fetch of ${(link.bytes.down / 1024).toFixed(0)} KiB at 150 kB/s with a 2 s silence timeout: ${ms} ms`);
  assert.ok(ms > 2500, `the transfer really outlasted the timeout (${ms} ms)`);
  assert.match(snapshot.revision, /^[0-9a-f]{40}$/);
  link.rateBytesPerSec = 0;

  // A link that goes silent (a black hole: accepted, never answered): the poll gives up within its bound.
  const poll = new GitSource({ repo: url, ref: 'main', path: 'hosts' }, { cacheDir: join(root, 'cache-poll') });
  link.outage('blackhole');
  const pollStarted = Date.now();
  await assert.rejects(poll.remoteRevision(), (e: unknown) => isGitfleetError(e) && e.code === 'GIT_UNREACHABLE');
  const pollMs = Date.now() - pollStarted;
  t.diagnostic(`MEASURED ls-remote into a black hole gave up after ${pollMs} ms (bound ${LS_REMOTE_TIMEOUT_MS} ms; fetches keep 60 s of silence)`);
  assert.ok(pollMs >= LS_REMOTE_TIMEOUT_MS - 100 && pollMs < LS_REMOTE_TIMEOUT_MS + 5000, `${pollMs} ms`);
  link.restore();
  assert.equal(await poll.remoteRevision(), snapshot.revision, 'and works again once the link is back');
});
