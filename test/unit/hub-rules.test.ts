// Pure hub rules as tables: roll-ups, the tag tree, which hosts a push
// affects, webhook signatures, the fleet index's queries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { buildTagTree, hostSync, inTag, withAncestors } from '../../hub/fleet/rollup.ts';
import { affectedHosts } from '../../hub/git/affected-hosts.ts';
import { genericWebhookHeaders, refMatches, verifyWebhook } from '../../hub/webhook/verify-webhook.ts';
import { FleetIndex } from '../../hub/fleet/fleet-index.ts';
import { isGitfleetError } from '../../shared/errors.ts';
import type { HostStatus } from '../../shared/status.ts';

const status = (syncs: Array<HostStatus['resources'][number]['sync']>, stalled = false): HostStatus => ({
  host: 'h', place: '', tags: [],
  conditions: [{ type: 'Stalled', status: stalled, reason: 'r', message: 'm', lastTransitionTime: 't' }],
  lastAppliedRevision: 'r1', lastAttemptedRevision: 'r1',
  resources: syncs.map((sync, i) => ({ id: `container/c${i}`, sync, health: 'Healthy', diff: [] })),
  attempts: [], updatedAt: 't',
});

test('a host is its worst resource; stalled is Failed; no status is Unknown', () => {
  assert.equal(hostSync(null), 'Unknown');
  assert.equal(hostSync(status([])), 'InSync');
  assert.equal(hostSync(status(['InSync', 'Missing', 'Drifted', 'Ignored'])), 'Drifted');
  assert.equal(hostSync(status(['InSync'], true)), 'Failed');
});

test('tags: ancestors, subtree membership, roll-up counts each host once and takes the worst', () => {
  assert.deepEqual(withAncestors('prod/eu/web'), ['prod', 'prod/eu', 'prod/eu/web']);
  assert.equal(inTag(['prod/eu'], 'prod'), true);
  assert.equal(inTag(['production'], 'prod'), false);
  const tree = buildTagTree([
    { tags: ['prod', 'prod/eu', 'gpu'], sync: 'Drifted', connectivity: 'Online' },
    { tags: ['prod/us'], sync: 'InSync', connectivity: 'Offline' },
  ], ['staging']);
  const prod = tree.find((n) => n.tag === 'prod')!;
  assert.equal(prod.total, 2);
  assert.equal(prod.worst, 'Drifted');
  assert.deepEqual(prod.children.map((c) => [c.tag, c.total, c.worst]), [['prod/eu', 1, 'Drifted'], ['prod/us', 1, 'InSync']]);
  assert.deepEqual(tree.map((n) => n.tag), ['gpu', 'prod', 'staging']);
  assert.equal(tree.find((n) => n.tag === 'staging')!.total, 0);
});

test('a push affects the hosts whose layers it changed', () => {
  const hosts = [
    { id: 'web-01', dir: 'prod/eu/web-01', crossTags: ['gpu'] },
    { id: 'web-02', dir: 'prod/us/web-02', crossTags: [] },
    { id: 'kiosk', dir: 'prod/us/kiosks', crossTags: [] },
  ];
  const table: Array<[string[] | null, string[]]> = [
    [['prod/eu/app.yaml'], ['web-01']],
    [['prod/app.yaml'], ['web-01', 'web-02', 'kiosk']],
    [['prod/eu/web-01/host.yaml'], ['web-01']],
    [['tags/gpu/x.yaml'], ['web-01']],
    [['tags/gpu-extra/x.yaml'], []],
    [['prod/us/kiosks/a.yaml'], ['kiosk']],
    [['prod/us/kiosks-old/a.yaml'], []],
    [['README.md'], ['web-01', 'web-02', 'kiosk']],
    [[], []],
    [null, ['web-01', 'web-02', 'kiosk']],
  ];
  for (const [changed, expected] of table) assert.deepEqual(affectedHosts(changed, hosts), expected, JSON.stringify(changed));
});

test('webhook signatures: each provider accepts its own and refuses a wrong one', () => {
  const secret = 's3cret-s3cret-s3cret';
  const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: 'abc' }));
  const hmac = createHmac('sha256', secret).update(body).digest('hex');
  const good: Array<Record<string, string>> = [
    { 'x-github-event': 'push', 'x-github-delivery': 'd1', 'x-hub-signature-256': `sha256=${hmac}` },
    { 'x-gitea-event': 'push', 'x-gitea-delivery': '1', 'x-gitea-signature': hmac },
    { 'x-gitlab-event': 'Push Hook', 'x-gitlab-event-uuid': 'u1', 'x-gitlab-token': secret },
    genericWebhookHeaders(secret, body),
  ];
  for (const headers of good) assert.deepEqual(verifyWebhook(headers, body, secret).ref, 'refs/heads/main');
  const bad: Array<Record<string, string>> = [
    { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac.replace(/.$/, '0')}` },
    { 'x-github-event': 'push', 'x-gitea-signature': hmac },
    { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret + 'x' },
    // generic: signed over the body alone (without the timestamp)
    { 'x-gitfleet-timestamp': String(Math.floor(Date.now() / 1000)), 'x-gitfleet-signature': `sha256=${hmac}` },
    {},
  ];
  for (const headers of bad) assert.throws(() => verifyWebhook(headers, body, secret), (e: unknown) => isGitfleetError(e, 'WEBHOOK_INVALID'));
  assert.equal(refMatches('refs/heads/main', 'main'), true);
  assert.equal(refMatches('refs/heads/dev', 'main'), false);
});

test('the fleet index filters, searches, sorts and pages', () => {
  const index = new FleetIndex(() => {}, { summaryMaxAgeMs: 0 });
  for (let i = 0; i < 30; i++) {
    const id = `web-${String(i).padStart(2, '0')}`;
    index.hello(id, { place: i < 10 ? 'prod/eu' : 'prod/us', tags: [i < 10 ? 'prod/eu' : 'prod/us'], agentVersion: '1', seenAt: 't' });
    index.status(id, { ...status([i % 3 === 0 ? 'Drifted' : 'InSync']), host: id });
    if (i % 2 === 0) index.connected(id, true);
  }
  const eu = index.query({ tag: 'prod/eu' });
  assert.equal(eu.total, 10);
  const drifted = index.query({ state: ['Drifted'], limit: 5 });
  assert.equal(drifted.total, 10);
  assert.equal(drifted.hosts.length, 5);
  assert.equal(index.query({ state: ['Offline'] }).total, 15);
  assert.deepEqual(index.query({ q: 'WEB-2', limit: 100 }).hosts.map((h) => h.id), Array.from({ length: 10 }, (_, i) => `web-2${i}`));
  assert.equal(index.query({ sort: 'sync' }).hosts[0]!.sync, 'Drifted');
  assert.equal(index.query({ sort: 'id', order: 'desc' }).hosts[0]!.id, 'web-29');
  const summary = index.summary();
  assert.equal(summary.total, 30);
  assert.equal(summary.sync.Drifted, 10);
  assert.equal(summary.connectivity.Online, 15);
  // A cached summary is rebuilt after a change (here: no staleness allowed).
  index.status('web-01', { ...status(['Failed']), host: 'web-01' });
  assert.equal(index.get('web-01')!.sync, 'Failed');
  assert.equal(index.summary().sync.Failed, 1);
});
