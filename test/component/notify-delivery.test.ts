// Notifications end to end inside one process, against real HTTP receivers on
// loopback: the hub config's notify: section, the fleet index's reports, the
// grouping, each sink's request (webhook signed with HMAC-SHA256 and checked
// by the receiver, Slack-compatible, ntfy, a command hook with stdin), a
// failing receiver (5xx, then success: retries with backoff), a slow one (a
// timeout, retried, not holding up the other sinks), the bounded queue, and
// the counters in /metrics.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadHubConfig } from '../../hub/config.ts';
import { FleetIndex } from '../../hub/fleet/fleet-index.ts';
import { HubMetrics } from '../../hub/metrics.ts';
import { Notifications } from '../../hub/notify/notifications.ts';
import { DeliveryQueue } from '../../hub/notify/delivery-queue.ts';
import type { DeliveryResult } from '../../hub/notify/delivery-queue.ts';
import type { NotifyMessage } from '../../hub/notify/message.ts';
import type { HostStatus } from '../../shared/status.ts';
import { startReceiver } from '../harness/http-receiver.ts';
import type { Answer, Receiver } from '../harness/http-receiver.ts';

const dir = mkdtempSync(join(tmpdir(), 'gitfleet-notify-'));
const receivers: Receiver[] = [];
const stops: Array<() => void> = [];
after(async () => {
  stops.forEach((s) => s());
  await Promise.all(receivers.map((r) => r.close()));
  rmSync(dir, { recursive: true, force: true });
});

const ADMIN = 'admin-token-0123456789abcdef';
const HOOK_SECRET = 'hook-secret-0123456789abcdef';
const REV = 'abc1234'.padEnd(40, '0');
const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function receiver(respond?: (index: number) => Answer): Promise<Receiver> {
  const r = await startReceiver(respond ? (_req, i) => respond(i) : undefined);
  receivers.push(r);
  return r;
}

let configN = 0;
function hubConfig(yaml: string) {
  const file = join(dir, `hub-${++configN}.yaml`);
  writeFileSync(file, `adminToken: ${ADMIN}\n${yaml}`);
  return loadHubConfig(file, {});
}

function build(yaml: string) {
  const config = hubConfig(yaml);
  const index = new FleetIndex();
  const metrics = new HubMetrics();
  const n = new Notifications({ notify: config.notify, commitStatus: config.commitStatus, index, metrics, logger: log, hubSecrets: [ADMIN] });
  // Without a store, start() follows the index at once (nothing to read back).
  void n.start();
  stops.push(() => n.close());
  return { index, metrics, n };
}

function status(host: string, o: { failed?: string; message?: string } = {}): HostStatus {
  const now = new Date().toISOString();
  return {
    host,
    place: '',
    tags: [],
    conditions: [{ type: 'Ready', status: !o.failed, reason: o.failed ? 'ApplyFailed' : 'Converged', message: o.message ?? (o.failed ? 'container/web: image pull failed' : 'ok'), lastTransitionTime: now }],
    lastAppliedRevision: o.failed ? 'f'.repeat(40) : REV,
    lastAttemptedRevision: o.failed ?? REV,
    resources: [{ id: 'container/web', sync: o.failed ? 'Failed' : 'InSync', health: 'Healthy', diff: [] }],
    attempts: [],
    updatedAt: now,
  };
}

function join12(index: FleetIndex, n: number, tags = ['prod/eu']): string[] {
  const ids = Array.from({ length: n }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);
  for (const id of ids) {
    index.hello(id, { place: '', tags, agentVersion: 'test', seenAt: new Date().toISOString() });
    index.connected(id, true);
  }
  return ids;
}

async function metric(metrics: HubMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return m?.value ?? 0;
}

test('12 hosts failing under prod/eu: one signed webhook message, one Slack message, one ntfy message; then one recovery each', async () => {
  const hook = await receiver();
  const chat = await receiver();
  const phone = await receiver();
  writeFileSync(join(dir, 'hook.secret'), HOOK_SECRET + '\n');
  writeFileSync(join(dir, 'slack.url'), `${chat.url}/services/T000/B000/XXXXSECRET\n`);
  writeFileSync(join(dir, 'ntfy.token'), 'tk_ntfy0123456789\n');
  const { index, metrics, n } = build(`notify:
  webUrl: https://hub.example.com
  groupWindow: 150ms
  sinks:
    hook: { type: webhook, url: "${hook.url}/gitfleet", secretFile: ${join(dir, 'hook.secret')} }
    chat: { type: slack, urlFile: ${join(dir, 'slack.url')} }
    phone: { type: ntfy, url: "${phone.url}", topic: fleet-alerts, tokenFile: ${join(dir, 'ntfy.token')} }
  rules:
    - { name: prod-eu, events: [failed, recovered], tags: [prod/eu], sinks: [hook, chat, phone] }
`);
  const ids = join12(index, 12);
  index.hello('stage-01', { place: '', tags: ['staging'], agentVersion: 't', seenAt: new Date().toISOString() });
  index.status('stage-01', status('stage-01', { failed: REV }));
  for (const id of ids) index.status(id, status(id, { failed: REV, message: id === 'web-07' ? 'pull from https://bot:hunter2hunter2@registry.example.com/x failed <b>&</b>' : undefined }));
  await waitFor('one message at every sink', () => hook.requests.length >= 1 && chat.requests.length >= 1 && phone.requests.length >= 1);
  await sleep(300);
  assert.equal(hook.requests.length, 1, 'grouped: one message, not 12');
  assert.equal(chat.requests.length, 1);
  assert.equal(phone.requests.length, 1);

  const req = hook.requests[0]!;
  assert.equal(req.path, '/gitfleet');
  assert.equal(req.headers['content-type'], 'application/json');
  const expected = 'sha256=' + createHmac('sha256', HOOK_SECRET).update(req.body).digest('hex');
  assert.equal(req.headers['x-gitfleet-signature-256'], expected, 'the receiver verifies the HMAC over the exact body');
  const m = JSON.parse(req.body) as NotifyMessage;
  assert.equal(req.headers['x-gitfleet-delivery'], m.id);
  assert.equal(req.headers['x-gitfleet-event'], 'failed');
  assert.equal(m.schema, 'gitfleet.notification/v1');
  assert.equal(m.title, '12 hosts under prod/eu failed on abc1234');
  assert.equal(m.hostCount, 12);
  assert.equal(m.tag, 'prod/eu');
  assert.equal(m.revision, REV);
  assert.equal(m.url, `https://hub.example.com/#/commits/${REV}`);
  assert.ok(!m.hosts.some((h) => h.id === 'stage-01'), 'a host outside the rule\'s tags is not in it');
  const web07 = m.hosts.find((h) => h.id === 'web-07')!;
  assert.ok(!web07.message.includes('hunter2'), web07.message);
  assert.ok(web07.message.includes('***'));

  const slack = JSON.parse(chat.requests[0]!.body) as { text: string };
  assert.equal(chat.requests[0]!.path, '/services/T000/B000/XXXXSECRET');
  assert.match(slack.text, /^\*12 hosts under prod\/eu failed on abc1234\* <https:\/\/hub\.example\.com\/#\/commits\/abc1234[0-9]+\|open in gitfleet>/);
  assert.ok(slack.text.includes('&lt;b&gt;&amp;&lt;/b&gt;'), 'host text escaped for Slack');
  assert.ok(!slack.text.includes('<b>'));

  const ntfy = JSON.parse(phone.requests[0]!.body) as Record<string, unknown>;
  assert.equal(phone.requests[0]!.path, '/');
  assert.equal(phone.requests[0]!.headers.authorization, 'Bearer tk_ntfy0123456789');
  assert.equal(ntfy.topic, 'fleet-alerts');
  assert.equal(ntfy.title, '12 hosts under prod/eu failed on abc1234');
  assert.equal(ntfy.click, `https://hub.example.com/#/commits/${REV}`);
  assert.match(String(ntfy.message), /^web-01: container\/web: image pull failed/);

  for (const id of ids) index.status(id, status(id));
  await waitFor('the recovery message', () => hook.requests.length >= 2 && chat.requests.length >= 2 && phone.requests.length >= 2);
  await sleep(300);
  assert.equal(hook.requests.length, 2);
  const r = JSON.parse(hook.requests[1]!.body) as NotifyMessage;
  assert.equal(r.event, 'recovered');
  assert.equal(r.recoveredFrom, 'failed');
  assert.equal(r.title, '12 hosts under prod/eu recovered: no longer failed on abc1234');
  assert.equal(await metric(metrics, 'gitfleet_hub_notifications_total', { sink: 'hook', result: 'delivered' }), 2);
  assert.equal(await metric(metrics, 'gitfleet_hub_notifications_total', { sink: 'hook', result: 'failed' }), 0);
  const view = n.view();
  assert.equal(view.sinks.find((s) => s.name === 'hook')!.delivered, 2);
  assert.ok(!JSON.stringify(view).includes('XXXXSECRET'), 'the Slack URL (a secret) is not in the status');
});

test('a failing receiver (503, 503, then 200): retried with exponential backoff, counted, delivered once', async () => {
  const hook = await receiver((i) => ({ status: i < 2 ? 503 : 200, body: i < 2 ? { error: 'busy' } : {} }));
  const { index, metrics, n } = build(`notify:
  groupWindow: 50ms
  sinks:
    flaky: { type: webhook, url: "${hook.url}/", secretFile: ${join(dir, 'hook.secret')}, retry: { attempts: 5, initialDelay: 200ms, maxDelay: 5s } }
  rules:
    - { name: all, events: [offline], sinks: [flaky] }
`);
  const [id] = join12(index, 1, []);
  index.connected(id!, false);
  await waitFor('the third try', () => hook.requests.length >= 3);
  await waitFor('delivered', () => n.view().sinks[0]!.delivered === 1);
  const [a, b, c] = hook.requests.map((r) => r.at);
  // Equal jitter: the first retry waits 100–200 ms, the second 200–400 ms.
  assert.ok(b! - a! >= 95, `first retry after ${b! - a!} ms`);
  assert.ok(c! - b! >= 195, `second retry after ${c! - b!} ms`);
  assert.equal(hook.requests[0]!.body, hook.requests[2]!.body, 'the same message, same id');
  assert.equal(await metric(metrics, 'gitfleet_hub_notifications_total', { sink: 'flaky', result: 'retried' }), 2);
  assert.equal(await metric(metrics, 'gitfleet_hub_notifications_total', { sink: 'flaky', result: 'delivered' }), 1);
  const text = await metrics.registry.metrics();
  assert.match(text, /gitfleet_hub_notifications_total\{sink="flaky",result="retried"\} 2/);
  const view = n.view().sinks[0]!;
  assert.match(view.lastError!, /HTTP 503/);
  assert.ok(!view.lastError!.includes('127.0.0.1'), 'errors name the sink, not its URL');
});

test('a receiver that refuses (400) is not retried: counted as failed', async () => {
  const hook = await receiver(() => ({ status: 400 }));
  const { index, metrics, n } = build(`notify:
  groupWindow: 50ms
  sinks:
    strict: { type: webhook, url: "${hook.url}/", secretFile: ${join(dir, 'hook.secret')}, retry: { attempts: 5, initialDelay: 50ms } }
  rules:
    - { name: all, events: [offline], sinks: [strict] }
`);
  const [id] = join12(index, 1, []);
  index.connected(id!, false);
  await waitFor('given up', () => n.view().sinks[0]!.failed === 1);
  await sleep(300);
  assert.equal(hook.requests.length, 1);
  assert.equal(await metric(metrics, 'gitfleet_hub_notifications_total', { sink: 'strict', result: 'failed' }), 1);
});

test('a slow receiver times out and is retried, and does not hold up another sink', async () => {
  const slow = await receiver((i) => ({ status: 200, delayMs: i === 0 ? 5000 : 0 }));
  const fast = await receiver();
  const { index, n } = build(`notify:
  groupWindow: 50ms
  sinks:
    slow: { type: webhook, url: "${slow.url}/", secretFile: ${join(dir, 'hook.secret')}, timeout: 2s, retry: { initialDelay: 100ms } }
    fast: { type: webhook, url: "${fast.url}/", secretFile: ${join(dir, 'hook.secret')} }
  rules:
    - { name: all, events: [offline], sinks: [slow, fast] }
`);
  const [id] = join12(index, 1, []);
  index.connected(id!, false);
  await waitFor('the fast sink', () => fast.requests.length === 1);
  await waitFor('the slow sink delivered on its retry', () => n.view().sinks.find((s) => s.name === 'slow')!.delivered === 1);
  assert.equal(slow.requests.length, 2);
  // Not held up: the fast sink had it before the slow sink's first try timed out (the 2 s timeout is the
  // margin: a loaded machine can take longer than the few ms a delivery takes, but not that long).
  const ahead = slow.requests[0]!.at + 2000 - fast.requests[0]!.at;
  assert.ok(ahead > 0, `the fast sink got it ${-ahead} ms after the slow sink's first try timed out`);
  const s = n.view().sinks.find((x) => x.name === 'slow')!;
  assert.equal(s.retried, 1);
  assert.match(s.lastError!, /no answer within 2000 ms/);
});

test('command hook: an argument vector (no shell), the message on stdin; a hook that hangs is killed at its timeout', async () => {
  const out = join(dir, 'hook-out');
  const script = join(dir, 'hook.sh');
  writeFileSync(script, '#!/bin/sh\ncat > "$1.stdin"\nprintf "%s" "$2" > "$1.arg"\n');
  chmodSync(script, 0o755);
  const hang = join(dir, 'hang.sh');
  writeFileSync(hang, '#!/bin/sh\nexec sleep 30\n');
  chmodSync(hang, 0o755);
  const { index, n } = build(`notify:
  groupWindow: 50ms
  sinks:
    run: { type: command, command: ["${script}", "${out}", "a b; \$(touch ${join(dir, 'pwned')})"] }
    hang: { type: command, command: ["${hang}"], timeout: 300ms, retry: { attempts: 1 } }
  rules:
    - { name: all, events: [offline], sinks: [run, hang] }
`);
  const [id] = join12(index, 1, []);
  index.connected(id!, false);
  await waitFor('the hook ran', () => n.view().sinks.find((s) => s.name === 'run')!.delivered === 1);
  const m = JSON.parse(readFileSync(`${out}.stdin`, 'utf8')) as NotifyMessage;
  assert.equal(m.event, 'offline');
  assert.equal(m.title, 'web-01 went offline');
  assert.equal(readFileSync(`${out}.arg`, 'utf8'), `a b; $(touch ${join(dir, 'pwned')})`, 'the argument arrives as one literal string');
  assert.ok(!existsSync(join(dir, 'pwned')), 'no shell interpreted it');
  const t0 = Date.now();
  await waitFor('the hanging hook given up', () => n.view().sinks.find((s) => s.name === 'hang')!.failed === 1, 20_000);
  // Killed at its 300 ms timeout, not let run its 30 s (the bound is loose: a loaded machine spawns slowly).
  assert.ok(Date.now() - t0 < 15_000, `given up after ${Date.now() - t0} ms`);
  assert.match(n.view().sinks.find((s) => s.name === 'hang')!.lastError!, /killed after 300 ms/);
});

test('the queue is bounded: with a receiver that never answers, the oldest waiting messages are dropped and counted', async () => {
  const results: Array<[string, DeliveryResult]> = [];
  const q = new DeliveryQueue({ capacity: 5, onResult: (lane, r) => results.push([lane, r]) });
  q.addLane('stuck', { retry: { attempts: 1, initialDelayMs: 10, maxDelayMs: 10 } });
  let release!: () => void;
  const blocked = new Promise<void>((r) => (release = r));
  const ran: number[] = [];
  for (let i = 0; i < 20; i++)
    q.enqueue('stuck', async () => {
      ran.push(i);
      await blocked;
    });
  assert.equal(q.length, 5, 'never more than its capacity waits');
  assert.equal(results.filter(([, r]) => r === 'dropped').length, 14, '20 − 1 running − 5 waiting');
  release();
  await waitFor('the waiting ones ran', () => ran.length === 6);
  assert.deepEqual(ran, [0, 15, 16, 17, 18, 19], 'the newest were kept');
  q.stop();
});

test('hub secrets in host-reported text never reach a receiver', async () => {
  const hook = await receiver();
  const { index } = build(`notify:
  groupWindow: 50ms
  sinks:
    hook: { type: webhook, url: "${hook.url}/", secretFile: ${join(dir, 'hook.secret')} }
  rules:
    - { name: all, events: [failed], sinks: [hook] }
`);
  const [id] = join12(index, 1, []);
  index.status(id!, status(id!, { failed: REV, message: `token ${ADMIN} and ${HOOK_SECRET} leaked\u001b[2J` }));
  await waitFor('the message', () => hook.requests.length === 1);
  const body = hook.requests[0]!.body;
  assert.ok(!body.includes(ADMIN) && !body.includes(HOOK_SECRET), body);
  assert.ok(body.includes('«secret»'));
  assert.ok(!body.includes('\\u001b'), 'control characters removed');
});

test('notify config errors name the key', () => {
  const bad = (yaml: string, key: RegExp) => assert.throws(() => hubConfig(yaml), (e: Error) => key.test(e.message), yaml);
  bad('notify:\n  sinks: { a: { type: slack, urlFile: /nonexistent/x } }\n  rules: [{ name: r, events: [failed], sinks: [a] }]\n', /notify\.sinks\.a\.urlFile: cannot read \/nonexistent\/x/);
  writeFileSync(join(dir, 'u'), 'https://hooks.example.com/x\n');
  bad(`notify:\n  sinks: { a: { type: slack, urlFile: ${join(dir, 'u')} } }\n  rules: [{ name: r, events: [failed], sinks: [b] }]\n`, /notify\.rules\.0\.sinks: no sink named b/);
  bad(`notify:\n  sinks: { a: { type: command, command: [notify-send, x] } }\n  rules: [{ name: r, events: [failed], sinks: [a] }]\n`, /notify\.sinks\.a\.command: the program must be an absolute path/);
  bad(`notify:\n  sinks: { a: { type: slack, urlFile: ${join(dir, 'u')} } }\n  rules: [{ name: r, events: [exploded], sinks: [a] }]\n`, /notify\.rules\.0\.events\.0/);
  bad(`notify:\n  sinks: { a: { type: slack, urlFile: ${join(dir, 'u')}, colour: red } }\n  rules: [{ name: r, events: [failed], sinks: [a] }]\n`, /notify\.sinks\.a\.colour: not a hub configuration key/);
  bad(`repo: https://git.example.com/ops/fleet.git\ncommitStatus: { forge: github, baseUrl: "https://api.github.com", repository: ops/fleet, tokenFile: /nonexistent/t, webUrl: "https://hub" }\n`, /commitStatus\.tokenFile: cannot read/);
  bad(`commitStatus: { forge: github, baseUrl: "https://api.github.com", repository: ops/fleet, tokenFile: ${join(dir, 'u')}, webUrl: "https://hub" }\n`, /commitStatus: needs repo/);
  bad(`commitStatus: { forge: bitbucket, baseUrl: "https://api.github.com", repository: ops/fleet, tokenFile: /x, webUrl: "https://hub" }\n`, /commitStatus\.forge/);
});

test('the configuration examples of docs/notifications.md load as printed (secret files put in place)', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/notifications.md'), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^(notify|commitStatus):/m.test(b));
  assert.equal(blocks.length, 2);
  const etc = join(dir, 'etc');
  rmSync(etc, { recursive: true, force: true });
  for (const block of blocks) {
    const yaml = block.replaceAll('/etc/gitfleet/', `${etc}/`);
    for (const m of yaml.matchAll(new RegExp(`${etc}/([\\w.-]+)`, 'g'))) {
      const file = join(etc, m[1]!);
      if (existsSync(file)) continue;
      mkdirSync(etc, { recursive: true });
      writeFileSync(file, m[1]!.endsWith('.url') ? 'https://hooks.slack.com/services/T000/B000/XXXX\n' : 'a-secret-of-at-least-16-characters\n');
    }
    const config = hubConfig(`repo: https://git.example.com/ops/fleet.git\n${yaml}`);
    if (config.notify) {
      assert.deepEqual(config.notify.sinks.map((s) => s.type).sort(), ['command', 'ntfy', 'slack', 'webhook']);
      assert.deepEqual(config.notify.rules.map((r) => r.name), ['prod-problems', 'prod-eu-drift', 'releases']);
      assert.equal(config.notify.rules[1]!.groupWindowMs, 300_000);
    } else {
      assert.equal(config.commitStatus!.forge, 'github');
      assert.equal(config.commitStatus!.debounceMs, 5000);
    }
  }
});

test('a halted rollout reaches the rules whose tags overlap its scope, once, with the failed hosts\' messages', async () => {
  const hook = await receiver();
  const { index, n } = build(`notify:
  webUrl: https://hub.example.com
  groupWindow: 50ms
  sinks:
    hook: { type: webhook, url: "${hook.url}/", secretFile: ${join(dir, 'hook.secret')} }
  rules:
    - { name: eu, events: [rolloutHalted], tags: [prod/eu], sinks: [hook] }
    - { name: us, events: [rolloutHalted], tags: [prod/us], sinks: [hook] }
    - { name: prod, events: [rolloutHalted], tags: [prod], sinks: [hook] }
    - { name: failures, events: [failed], sinks: [hook] }
`);
  const [id] = join12(index, 1, ['prod/eu']);
  index.status(id!, status(id!, { failed: REV, message: 'unit web.service: exit 3' }));
  await waitFor('the failure message', () => hook.requests.length === 1);
  n.rolloutHalted({ rollout: `${REV.slice(0, 12)}@prod:eu`, revision: REV, tag: 'prod/eu', reason: '2 host(s) failed, over the failure budget of 1', hosts: [{ id: id! }, { id: 'web-99', message: 'rolled back' }] });
  await waitFor('the halt messages', () => hook.requests.length === 3);
  await sleep(200);
  const halts = hook.requests.slice(1).map((r) => JSON.parse(r.body) as NotifyMessage);
  assert.deepEqual(halts.map((m) => m.rule).sort(), ['eu', 'prod'], 'prod/us does not overlap prod/eu');
  const m = halts[0]!;
  assert.equal(m.event, 'rolloutHalted');
  assert.equal(m.title, `rollout ${REV.slice(0, 12)}@prod:eu halted on abc1234 under prod/eu: 2 host(s) failed, over the failure budget of 1`);
  assert.deepEqual(m.hosts, [{ id: 'web-01', message: 'unit web.service: exit 3' }, { id: 'web-99', message: 'rolled back' }]);
  assert.equal(m.url, `https://hub.example.com/#/commits/${REV}`);
});
