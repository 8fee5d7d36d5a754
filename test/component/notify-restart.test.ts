// Notifications across a restart, with the real SQLite store and a real
// webhook receiver: "applied fleet-wide" is announced once per revision, not
// again by the next process (the announced head is in notify_state); a host
// already announced as failed is quiet after the restart, and a host that
// failed since is announced as one more of the same group.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadHubConfig } from '../../hub/config.ts';
import { FleetIndex } from '../../hub/fleet/fleet-index.ts';
import { HubMetrics } from '../../hub/metrics.ts';
import { Notifications } from '../../hub/notify/notifications.ts';
import type { NotifyMessage } from '../../hub/notify/message.ts';
import { SqliteFleetStore } from '../../hub/store/sqlite-store.ts';
import type { FleetHead } from '../../hub/git/fleet-repo-view.ts';
import { simStatus } from '../integration/sim-agent.ts';
import { startReceiver } from '../harness/http-receiver.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'gitfleet-notify-restart-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const REV = 'c3'.repeat(20);
const BAD = 'd4'.repeat(20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const head: FleetHead = {
  revision: REV,
  hosts: ['h1', 'h2', 'h3'].map((id) => ({ id, dir: `prod/${id}`, pathTags: ['prod'], crossTags: [] })),
  tags: ['prod'],
  issues: [],
};

test('a restarted hub announces neither the head applied fleet-wide nor a known failure again; a new failure is "more"', async () => {
  const hook = await startReceiver();
  after(() => hook.close());
  writeFileSync(join(dir, 'hook.secret'), 'restart-secret-0123456789abcdef\n');
  writeFileSync(
    join(dir, 'hub.yaml'),
    `adminToken: admin-token-0123456789abcdef
notify:
  groupWindow: 100ms
  sinks: { ops: { type: webhook, url: "${hook.url}/hook", secretFile: ${join(dir, 'hook.secret')} } }
  rules: [{ name: all, events: [headApplied, failed], sinks: [ops] }]
`,
  );
  const config = loadHubConfig(join(dir, 'hub.yaml'), {});
  const messages = () => hook.requests.map((r) => JSON.parse(r.body) as NotifyMessage).map((m) => m.title);
  /**
   * Until `count` messages reached the receiver (the group window's timer, then an HTTP delivery: a loaded
   * machine may take far longer than the window), then one window and more so an extra message would show too.
   */
  const received = async (count: number) => {
    await waitFor(`${count} message(s) at the receiver`, () => hook.requests.length >= count, 10_000);
    await sleep(300);
  };
  const file = join(dir, 'hub.sqlite');

  /** One hub process's notifications: store, index loaded from it, head set. */
  const hub = async () => {
    const store = new SqliteFleetStore(file, { eventsPerHost: 10, attemptsPerHost: 10 });
    const index = new FleetIndex();
    index.load(await store.listHosts());
    index.setHead(head);
    const n = new Notifications({ notify: config.notify, index, store, metrics: new HubMetrics(), logger: pino({ level: 'silent' }), hubSecrets: [] });
    await n.start('local');
    return { store, index, n };
  };

  const first = await hub();
  for (const id of ['h1', 'h2', 'h3']) {
    await first.store.enroll(id, `hash-${id}`, new Date().toISOString());
    await first.store.touch(id, new Date().toISOString());
    first.index.connected(id, true);
  }
  let seq = 0;
  const report = async (h: Awaited<ReturnType<typeof hub>>, id: string, status: ReturnType<typeof simStatus>) => {
    await h.store.saveStatus(id, ++seq, status);
    h.index.status(id, status);
  };
  for (const id of ['h1', 'h2', 'h3']) await report(first, id, simStatus(id, { applied: REV }));
  first.n.headChanged();
  await received(1);
  assert.deepEqual(messages(), [`${REV.slice(0, 7)} applied on all 3 hosts`]);
  await report(first, 'h1', simStatus('h1', { applied: REV, failedOn: BAD }));
  await received(2);
  assert.deepEqual(messages().slice(1), [`h1 failed on ${BAD.slice(0, 7)}`]);
  await first.n.close();
  await first.store.close();

  const second = await hub();
  second.n.headChanged();
  await sleep(400);
  assert.equal(messages().length, 2, `nothing announced again after the restart: ${JSON.stringify(messages())}`);
  await report(second, 'h2', simStatus('h2', { applied: REV, failedOn: BAD }));
  await received(3);
  assert.deepEqual(messages().slice(2), [`1 more host failed on ${BAD.slice(0, 7)} (2 in all)`]);
  await second.n.close();
  await second.store.close();
});
