// Grouping and de-duplication of notifications (hub/notify/grouper.ts), with
// the real timers at short windows: twelve hosts failing on one revision under
// one tag are one message; a flap inside the window is none; the last host
// leaving gives one recovery message; a reminder while hosts stay failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleGrouper } from '../../hub/notify/grouper.ts';
import type { RuleConfig } from '../../hub/notify/notify-config.ts';
import type { NotifyMessage } from '../../hub/notify/message.ts';
import { waitFor } from '../helpers/wait.ts';

const REV = 'abc1234'.padEnd(40, '0');
// A fixed sleep longer than the window is safe even on a loaded machine: Node runs timers in the order they
// fall due and the grouper sends from inside its timer callback, so a window armed before the sleep has
// always fired (and sent) by the time the sleep ends, however late both run.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rule(o: Partial<RuleConfig> = {}): RuleConfig {
  return { name: 'prod', events: new Set(['failed', 'recovered']), tags: ['prod/eu'], sinks: ['x'], groupWindowMs: 100, repeatIntervalMs: 0, ...o };
}

function grouper(r: RuleConfig) {
  const sent: NotifyMessage[] = [];
  return { g: new RuleGrouper(r, (m) => sent.push(m), 'https://hub.example.com'), sent };
}

test('12 hosts failing on one revision under one tag within the window are one message', async () => {
  const { g, sent } = grouper(rule());
  for (let i = 1; i <= 12; i++) g.enter(`web-${String(i).padStart(2, '0')}`, 'failed', REV, 'prod/eu', `boom ${i}`);
  await sleep(350);
  assert.equal(sent.length, 1);
  const m = sent[0]!;
  assert.equal(m.title, '12 hosts under prod/eu failed on abc1234');
  assert.equal(m.hostCount, 12);
  assert.equal(m.hosts.length, 12);
  assert.equal(m.hosts[0]!.id, 'web-01');
  assert.equal(m.event, 'failed');
  assert.equal(m.url, `https://hub.example.com/#/commits/${REV}`);
  g.stop();
});

test('hosts failing after the first message come in one "more" message; other revisions and tags are other groups', async () => {
  const { g, sent } = grouper(rule());
  g.enter('web-01', 'failed', REV, 'prod/eu', 'x');
  await sleep(300);
  g.enter('web-02', 'failed', REV, 'prod/eu', 'x');
  g.enter('web-03', 'failed', REV, 'prod/eu', 'x');
  g.enter('web-04', 'failed', 'f'.repeat(40), 'prod/eu', 'x');
  await sleep(350);
  assert.deepEqual(sent.map((m) => m.title).sort(), ['2 more hosts under prod/eu failed on abc1234 (3 in all)', 'web-01 (prod/eu) failed on abc1234', 'web-04 (prod/eu) failed on fffffff'].sort());
  g.stop();
});

test('a host that fails and recovers within the window is never announced, and gets no recovery', async () => {
  const { g, sent } = grouper(rule());
  g.enter('web-01', 'failed', REV, 'prod/eu', 'x');
  await sleep(20);
  g.leave('web-01', 'failed', true);
  await sleep(400);
  assert.deepEqual(sent, []);
  assert.equal(g.groupCount, 0);
  g.stop();
});

test('when the last failing host recovers: one recovery message naming every recovered host', async () => {
  const { g, sent } = grouper(rule());
  for (const h of ['web-01', 'web-02', 'web-03']) g.enter(h, 'failed', REV, 'prod/eu', 'x');
  await sleep(300);
  g.leave('web-01', 'failed', true);
  g.leave('web-02', 'failed', true);
  await sleep(300);
  assert.equal(sent.length, 1, 'no recovery while web-03 still fails');
  g.leave('web-03', 'failed', true);
  await sleep(350);
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.title, '3 hosts under prod/eu recovered: no longer failed on abc1234');
  assert.equal(sent[1]!.event, 'recovered');
  assert.equal(sent[1]!.recoveredFrom, 'failed');
  assert.equal(g.groupCount, 0);
  g.stop();
});

test('no recovery message when the rule does not ask for recovered, nor for a host that only moved to another revision', async () => {
  const { g, sent } = grouper(rule({ events: new Set(['failed']) }));
  g.enter('web-01', 'failed', REV, 'prod/eu', 'x');
  await sleep(300);
  g.leave('web-01', 'failed', true);
  await sleep(350);
  assert.equal(sent.length, 1);
  const other = grouper(rule());
  other.g.enter('web-01', 'failed', REV, 'prod/eu', 'x');
  await sleep(300);
  other.g.leave('web-01', 'failed', false);
  await sleep(350);
  assert.equal(other.sent.length, 1);
  g.stop();
  other.g.stop();
});

test('a recovery followed at once by a new failure of the same host sends neither', async () => {
  const { g, sent } = grouper(rule());
  g.enter('web-01', 'failed', REV, 'prod/eu', 'x');
  await sleep(300);
  g.leave('web-01', 'failed', true);
  await sleep(20);
  g.enter('web-01', 'failed', REV, 'prod/eu', 'again');
  await sleep(400);
  assert.equal(sent.length, 1);
  g.stop();
});

test('a reminder every repeat interval while hosts stay failed, naming all of them', async () => {
  const { g, sent } = grouper(rule({ repeatIntervalMs: 400 }));
  g.enter('web-01', 'failed', REV, 'prod/eu', 'x');
  g.enter('web-02', 'failed', REV, 'prod/eu', 'x');
  // Due at about 100, 500 and 900 ms; each timer is armed when the one before fired, so on a loaded machine
  // their lateness adds up: wait for the third message rather than a fixed 1.15 s.
  await waitFor('the third message', () => sent.length >= 3, 10_000);
  const titles = sent.map((m) => m.title);
  assert.equal(titles[0], '2 hosts under prod/eu failed on abc1234');
  assert.ok(titles.length >= 3, titles.join(' | '));
  assert.equal(titles[1], 'still: 2 hosts under prod/eu failed on abc1234');
  assert.equal(sent[1]!.repeat, true);
  g.stop();
});

test('a message lists at most 20 hosts by name and counts the rest', async () => {
  const { g, sent } = grouper(rule({ tags: [] }));
  for (let i = 0; i < 45; i++) g.enter(`h-${String(i).padStart(2, '0')}`, 'offline', REV, '', 'gone');
  await sleep(350);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.title, '45 hosts went offline (last applied abc1234)');
  assert.equal(sent[0]!.hosts.length, 20);
  assert.equal(sent[0]!.hostCount, 45);
  g.stop();
});

test('a host leaves the group it entered even when it comes back under another tag; moving to another group is no recovery', async () => {
  const { g, sent } = grouper(rule());
  g.enter('web-01', 'failed', REV, 'prod/eu', 'x');
  await sleep(300);
  g.enter('web-01', 'failed', REV, 'prod/us', 'x');
  await sleep(350);
  assert.deepEqual(sent.map((m) => m.title), ['web-01 (prod/eu) failed on abc1234', 'web-01 (prod/us) failed on abc1234']);
  g.leave('web-01', 'failed', true);
  await sleep(350);
  assert.equal(sent.at(-1)!.title, 'web-01 (prod/us) recovered: no longer failed on abc1234');
  assert.equal(g.groupCount, 0, 'no group is left behind');
  g.stop();
});

test('restored from the saved state: hosts already named stay quiet, a newcomer is announced, those that recovered meanwhile get their recovery', async () => {
  const first = grouper(rule());
  const dirty = new Set<string>();
  const saving = new RuleGrouper(rule(), (m) => first.sent.push(m), 'https://hub.example.com', undefined, (key) => dirty.add(key));
  saving.enter('web-01', 'failed', REV, 'prod/eu', 'boom');
  saving.enter('web-02', 'failed', REV, 'prod/eu', 'boom');
  await sleep(250);
  assert.equal(first.sent.length, 1, 'the first sender announced both');
  assert.equal(dirty.size, 1);
  const saved = saving.snapshot([...dirty][0]!)!;
  assert.deepEqual(saved.named.sort(), ['web-01', 'web-02']);
  saving.stop();

  // The next sender (a restarted hub, a new leader): web-01 still fails, web-02 recovered meanwhile, web-03 is new.
  const { g, sent } = grouper(rule());
  g.restore(saved);
  g.enter('web-01', 'failed', REV, 'prod/eu', 'boom');
  g.enter('web-03', 'failed', REV, 'prod/eu', 'boom');
  g.settle();
  await sleep(250);
  assert.deepEqual(sent.map((m) => [m.title, m.hosts.map((h) => h.id)]), [['1 more host under prod/eu failed on abc1234 (2 in all)', ['web-03']]], 'only the newcomer, as "more"');
  g.leave('web-01', 'failed', true);
  g.leave('web-03', 'failed', true);
  await sleep(250);
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.event, 'recovered');
  assert.deepEqual(sent[1]!.hosts.map((h) => h.id), ['web-01', 'web-02', 'web-03'], 'web-02\'s recovery is not lost in the handover');
  g.stop();
});

test('restored group whose hosts all recovered meanwhile: one recovery message, nothing announced', async () => {
  const { g, sent } = grouper(rule());
  g.restore({ kind: 'failed', revision: REV, tag: 'prod/eu', members: [['web-01', 'boom']], named: ['web-01'] });
  g.settle();
  await sleep(250);
  assert.deepEqual(sent.map((m) => [m.event, m.hosts.map((h) => [h.id, h.message])]), [['recovered', [['web-01', 'boom']]]]);
  g.stop();
});
