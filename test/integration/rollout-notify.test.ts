// A halted staged rollout reaches the notification sinks: a real hub (in this
// process, from a hub config file with notify:) on a fake fleet repo, with
// simulated agents over real WebSockets that fail the bad commit
// (test/harness/rollout-sim-fleet.ts); the rollout crosses its failure budget
// in the first wave, and a signed webhook on loopback receives one
// rolloutHalted message naming the hosts that failed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { startHub } from '../../hub/main.ts';
import { loadHubConfig } from '../../hub/config.ts';
import { SimFleet } from '../harness/rollout-sim-fleet.ts';
import { startReceiver } from '../harness/http-receiver.ts';
import { ADMIN, ENROLL, VIEWER, removeDir, tempDir, waitFor } from './hub-harness.ts';
import { declaredHosts, FakeFleetRepo, readHead } from './rollout-hub-fixture.ts';
import type { NotifyMessage } from '../../hub/notify/message.ts';

const OLD = '1'.repeat(40);
const BAD = '3'.repeat(40);
const SECRET = 'hook-secret-0123456789abcdef';
const dirs: string[] = [];
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  for (const d of dirs) removeDir(d);
});

test('a rollout halted over its failure budget sends one rolloutHalted notification with the failed hosts', async () => {
  const hook = await startReceiver();
  closers.push(() => hook.close());
  const dataDir = tempDir('rollout-notify');
  dirs.push(dataDir);
  writeFileSync(join(dataDir, 'hook.secret'), SECRET);
  writeFileSync(
    join(dataDir, 'hub.yaml'),
    `notify:
  groupWindow: 200ms
  sinks:
    ops: { type: webhook, url: "${hook.url}/", secretFile: ${join(dataDir, 'hook.secret')} }
  rules:
    - { name: halts, events: [rolloutHalted], tags: [prod], sinks: [ops] }
`,
  );
  const env = {
    GITFLEET_HUB_LISTEN: '127.0.0.1:0',
    GITFLEET_HUB_DATA_DIR: dataDir,
    GITFLEET_HUB_ENROLLMENT_TOKEN: ENROLL,
    GITFLEET_HUB_ADMIN_TOKEN: ADMIN,
    GITFLEET_HUB_VIEWER_TOKEN: VIEWER,
    GITFLEET_HUB_HEARTBEAT: '5s',
    GITFLEET_HUB_POLL_INTERVAL: '1h',
  };
  const ids = Array.from({ length: 10 }, (_, i) => `halt-${i}`);
  const repo = new FakeFleetRepo(OLD, declaredHosts(ids));
  const hub = await startHub({ config: loadHubConfig(join(dataDir, 'hub.yaml'), env), logger: pino({ level: 'silent' }), repoView: repo, webRoot: null, rolloutTickMs: 100 });
  const fleet = new SimFleet({ url: hub.agentUrl, token: ENROLL, ids, initialRevision: OLD, fails: (_host, revision) => revision === BAD });
  closers.push(() => fleet.close(), () => hub.close());
  await fleet.connectAll();
  await waitFor('every agent reported', () => ids.every((id) => hub.index.get(id)?.lastAppliedRevision === OLD), 30_000);

  repo.commit(BAD, 'waves: [{ percent: 50 }, { percent: 100 }]\nsoak: 1s\nfailureBudget: 1\nonHalt: rollback\n');
  await readHead(hub);
  const halt = await waitFor('the rolloutHalted message', () => hook.requests.map((r) => JSON.parse(r.body) as NotifyMessage).find((m) => m.event === 'rolloutHalted'), 60_000);
  const req = hook.requests.find((r) => (JSON.parse(r.body) as NotifyMessage).id === halt.id)!;
  assert.equal(req.headers['x-gitfleet-signature-256'], 'sha256=' + createHmac('sha256', SECRET).update(req.body).digest('hex'));
  assert.equal(halt.rule, 'halts');
  assert.equal(halt.revision, BAD);
  assert.match(halt.title, /^rollout 333333333333 halted on 3333333: \d+ host\(s\) failed, over the failure budget of 1/);
  assert.ok(halt.hosts.length >= 2 && halt.hosts.every((h) => ids.includes(h.id)), JSON.stringify(halt.hosts));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(hook.requests.filter((r) => (JSON.parse(r.body) as NotifyMessage).event === 'rolloutHalted').length, 1, 'one message per halt');
});
