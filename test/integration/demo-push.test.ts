// The demo's push instruction works as printed: its git daemon (the same
// arguments, scripts/demo-git.ts) accepts `git push git://…/fleet.git main`,
// and the post-receive hook tells the hub through its signed webhook, checked
// here by the hub's own verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { verifyWebhook, type PushNotice } from '../../hub/webhook/verify-webhook.ts';
import { gitDaemonArgs, installPushHook, pushArgs } from '../../scripts/demo-git.ts';
import { freePort, missingGitServer, tempDir } from '../harness/git-servers.ts';
import { requireComponent } from '../harness/require.ts';

const run = promisify(execFile);
const identity = { GIT_AUTHOR_NAME: 'demo', GIT_AUTHOR_EMAIL: 'demo@example.com', GIT_COMMITTER_NAME: 'demo', GIT_COMMITTER_EMAIL: 'demo@example.com' };

test('demo: the printed git push reaches the demo Git server and the hub’s webhook, signed', async (t) => {
  if (!requireComponent(t, 'git daemon', missingGitServer('daemon'))) return;
  const work = tempDir('demo-push');
  const cleanups: Array<() => void> = [() => rmSync(work, { recursive: true, force: true })];
  try {
    // As the demo does: a checkout, and a bare clone of it served by git daemon.
    const checkout = join(work, 'fleet');
    const srv = join(work, 'git');
    mkdirSync(checkout);
    mkdirSync(srv);
    const git = (args: string[], cwd = checkout) => execFileSync('git', args, { cwd, env: { ...process.env, ...identity }, stdio: 'pipe' }).toString();
    git(['init', '--quiet', '--initial-branch=main']);
    writeFileSync(join(checkout, 'base.yaml'), 'files: {}\n');
    git(['add', '--all']);
    git(['commit', '--quiet', '-m', 'fleet']);
    git(['clone', '--quiet', '--bare', checkout, join(srv, 'fleet.git')], work);

    // The hub's webhook endpoint, reduced to its verification.
    const secret = 'demo-secret-0123456789';
    const notices: PushNotice[] = [];
    const hub = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          notices.push(verifyWebhook(req.headers, Buffer.concat(chunks), secret));
          res.writeHead(202).end('{"affected":3}');
        } catch (error) {
          res.writeHead(401).end(String(error));
        }
      });
    });
    const hubPort = await freePort();
    await new Promise<void>((r) => hub.listen(hubPort, '127.0.0.1', r));
    cleanups.push(() => hub.close());
    installPushHook(join(srv, 'fleet.git'), { webhookUrl: `http://127.0.0.1:${hubPort}/api/v1/hooks/git`, secret });

    const port = await freePort();
    const daemon = spawn('git', gitDaemonArgs(srv, port), { stdio: 'ignore' });
    cleanups.push(() => daemon.kill('SIGTERM'));
    const repoUrl = `git://127.0.0.1:${port}/fleet.git`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await run('git', ['ls-remote', repoUrl]).then(() => true, () => false);
      if (ok) break;
      if (Date.now() > deadline) assert.fail('git daemon did not answer');
      await new Promise((r) => setTimeout(r, 50));
    }

    writeFileSync(join(checkout, 'base.yaml'), 'files: {}\n# changed\n');
    git(['commit', '--quiet', '-am', 'change']);
    const head = git(['rev-parse', 'HEAD']).trim();
    const pushed = await run('git', pushArgs(repoUrl), { cwd: checkout, env: { ...process.env, ...identity } });
    assert.match(pushed.stderr, /gitfleet hub: refs\/heads\/main -> 202/, 'the hook reports the hub’s answer to the pusher');
    assert.equal((await run('git', ['ls-remote', repoUrl, 'refs/heads/main'])).stdout.split('\t')[0], head);
    assert.deepEqual(notices.map((n) => ({ provider: n.provider, event: n.event, ref: n.ref, after: n.after })), [{ provider: 'generic', event: 'push', ref: 'refs/heads/main', after: head }]);
  } finally {
    for (const fn of cleanups.reverse()) fn();
  }
});
