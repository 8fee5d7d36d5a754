// The demo's Git server (scripts/demo.mjs, which runs under tsx), kept apart so a test runs exactly
// what the demo runs: `git daemon` on loopback that accepts pushes, and a
// post-receive hook that tells the hub about each push through its signed
// generic webhook, so a push reaches the hosts in seconds instead of at their
// next poll.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Arguments of `git daemon` serving every repository under `baseDir`, pushes included (no auth: loopback only). */
export function gitDaemonArgs(baseDir: string, port: number): string[] {
  return ['daemon', `--base-path=${baseDir}`, '--export-all', '--enable=receive-pack', '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, baseDir];
}

/** The push the demo tells the user to run, as git arguments. */
export function pushArgs(repoUrl: string): string[] {
  return ['push', repoUrl, 'main'];
}

/** Installs hooks/post-receive in `bareRepo`: POST {ref, after} to `webhookUrl` as the hub's generic webhook (docs/api.md), signed with `secret`. */
export function installPushHook(bareRepo: string, options: { webhookUrl: string; secret: string; node?: string }): string {
  const { webhookUrl, secret, node = process.execPath } = options;
  const hook = join(bareRepo, 'hooks', 'post-receive');
  // CommonJS (the hook has no .mjs name); the secret sits in the demo's private temp directory.
  const script = `#!${node}
'use strict';
// Written by scripts/demo-git.mjs: tells the demo hub about each pushed ref.
const { createHmac } = require('node:crypto');
const url = ${JSON.stringify(webhookUrl)};
const secret = ${JSON.stringify(secret)};
(async () => {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  for (const line of input.split('\\n')) {
    const [, after, ref] = line.split(' ');
    if (!ref) continue;
    // The new revision makes each delivery unique (the hub refuses a replayed one).
    const body = JSON.stringify({ ref, after });
    const stamp = String(Math.floor(Date.now() / 1000));
    const signature = 'sha256=' + createHmac('sha256', secret).update(stamp + '.' + body).digest('hex');
    const headers = { 'content-type': 'application/json', 'x-gitfleet-timestamp': stamp, 'x-gitfleet-signature': signature };
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
      process.stdout.write('gitfleet hub: ' + ref + ' -> ' + res.status + ' ' + (await res.text()).slice(0, 200) + '\\n');
    } catch (error) {
      process.stdout.write('gitfleet hub not told about ' + ref + ' (' + error.message + '); hosts pick it up at their next poll\\n');
    }
  }
})();
`;
  writeFileSync(hook, script, { mode: 0o700 });
  chmodSync(hook, 0o700);
  return hook;
}
