// `gitfleet rollout` against a real hub (in this process) with simulated
// agents: list, show, the admin actions and their exit codes, as docs/cli.md
// documents them.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gitfleet as runCli } from '../helpers/gitfleet-cli.ts';
import { ADMIN, removeDir, tempDir, VIEWER, waitFor } from './hub-harness.ts';
import { rollOutToCanary, startRolloutFleet } from './rollout-hub-fixture.ts';

const OLD = '4'.repeat(40);
const NEW = '5'.repeat(40);
const dirs: string[] = [];
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  for (const d of dirs) removeDir(d);
});

/** The CLI as an operator holding `token` runs it: a process of its own, since the hub answering it runs in this one. */
const gitfleet = (args: string[], token = ADMIN) => runCli(args, { env: { GITFLEET_API_TOKEN: token, GITFLEET_CONFIG_DIR: join(dirs[0]!, 'cli') } });

test('gitfleet rollout list, show, pause, promote, abort: output and exit codes', async () => {
  const dataDir = tempDir('rollout-cli');
  dirs.push(dataDir);
  const ids = Array.from({ length: 6 }, (_, i) => `cli-${i}`);
  const { repo, hub, close } = await startRolloutFleet({ dataDir, ids, initialRevision: OLD });
  closers.push(close);
  const hubArgs = ['--hub', hub.url];
  assert.match((await gitfleet(['rollout', 'list', ...hubArgs])).stdout, /^no rollouts/);

  const id = await rollOutToCanary(hub, repo, NEW, 'waves:\n  - name: canary\n    hosts: [cli-0]\n  - percent: 100\nsoak: 1h\nfailureBudget: "50%"\n');
  assert.equal(id, NEW.slice(0, 12));

  const list = await gitfleet(['rollout', 'list', ...hubArgs], VIEWER);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ROLLOUT\s+STATE\s+WAVE\s+HOSTS\s+FAILED\/BUDGET\s+CREATED\s+SUBJECT$/m);
  assert.match(list.stdout, new RegExp(`^${id}\\s+running\\s+2/2 \\(next\\)\\s+6\\s+0/3\\s`, 'm'));

  const show = await gitfleet(['rollout', 'show', id, '--hosts', ...hubArgs], VIEWER);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /canary: 1 host\(s\) — done 1, applying 0, pending 0, failed 0/);
  assert.match(show.stdout, /wave 2 \(next\): 5 host\(s\) — done 0, applying 0, pending 5, failed 0; opened -/);
  assert.match(show.stdout, /soaking until .* \((59|60)m\d+s left\)/);
  assert.match(show.stdout, /failure budget: 0 failed of 3 allowed/);
  assert.match(show.stdout, /^ {4}cli-0 {2}canary {2}done$/m);

  const refused = await gitfleet(['rollout', 'promote', id, ...hubArgs], VIEWER);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /403/);
  assert.equal((await gitfleet(['rollout', 'pause', id, ...hubArgs])).code, 0);
  const twice = await gitfleet(['rollout', 'pause', id, ...hubArgs]);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /is paused, not running/);
  const promoted = await gitfleet(['rollout', 'promote', id, ...hubArgs]);
  assert.equal(promoted.code, 0, promoted.stderr);
  assert.match(promoted.stdout, /admin\s+promote/);
  await waitFor('every host at the new revision', () => ids.every((h) => hub.index.get(h)?.lastAppliedRevision === NEW), 15_000);
  assert.equal((await gitfleet(['rollout', 'abort', id, ...hubArgs])).code, 0);
  const aborted = await gitfleet(['rollout', 'show', id, ...hubArgs]);
  assert.equal(aborted.code, 1, 'show exits 1 for an aborted rollout');
  assert.match(aborted.stdout, /: aborted —/);
  assert.equal((await gitfleet(['rollout', 'show', 'nosuchrollout', ...hubArgs])).code, 1);
  const usage = await gitfleet(['rollout', 'explode', ...hubArgs]);
  assert.equal(usage.code, 2);
  assert.equal(usage.stderr.trim().split('\n').length, 1, 'a usage error is one line');
});
