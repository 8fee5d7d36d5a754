// Commit status write-back without a network (hub/forge-status): what each
// state says, each forge's request as its API documents it, and the reporter
// against a real fleet index: debounced, posted only on change, a head
// replaced before it finished marked superseded, a newer status for a commit
// replacing one not yet sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { describe, CommitStatusReporter } from '../../hub/forge-status/commit-status-reporter.ts';
import { forgeRequest } from '../../hub/forge-status/forge-api.ts';
import type { CommitStatusConfig } from '../../hub/forge-status/forge-config.ts';
import { FleetIndex } from '../../hub/fleet/fleet-index.ts';
import type { FleetHead } from '../../hub/git/fleet-repo-view.ts';
import { HostProblemTracker } from '../../hub/notify/host-problems.ts';
import { DeliveryQueue } from '../../hub/notify/delivery-queue.ts';
import { SecretValues } from '../../shared/secrets/mask.ts';
import { startReceiver } from '../harness/http-receiver.ts';
import type { HostStatus } from '../../shared/status.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

test('descriptions: failure names the first three failed hosts of all affected, success and pending count', () => {
  assert.deepEqual(describe({ affected: 45, applied: 40, failed: ['web-07', 'web-09', 'web-12'] }), { state: 'failure', description: '3 of 45 hosts failed: web-07, web-09, web-12' });
  assert.deepEqual(describe({ affected: 45, applied: 30, failed: ['a', 'b', 'c', 'd'] }), { state: 'failure', description: '4 of 45 hosts failed: a, b, c, …' });
  assert.deepEqual(describe({ affected: 45, applied: 45, failed: [] }), { state: 'success', description: '45 of 45 hosts applied it' });
  assert.deepEqual(describe({ affected: 45, applied: 30, failed: [] }), { state: 'pending', description: '30 of 45 hosts applied it' });
  assert.deepEqual(describe({ affected: 0, applied: 0, failed: [] }), { state: 'pending', description: 'waiting for hosts to report' });
});

test('each forge\'s request: path, auth header, fields and its spelling of the states', () => {
  const base = { repository: 'ops/fleet', token: 'T0KEN', context: 'gitfleet' };
  const gh = forgeRequest({ ...base, forge: 'github', baseUrl: 'https://api.github.com' }, A, 'failure', 'x'.repeat(200), 'https://hub/#/commits/' + A);
  assert.equal(gh.url, `https://api.github.com/repos/ops/fleet/statuses/${A}`);
  assert.equal(gh.headers.authorization, 'Bearer T0KEN');
  assert.equal(gh.headers['x-github-api-version'], '2022-11-28');
  const ghBody = JSON.parse(gh.body) as Record<string, string>;
  assert.deepEqual(Object.keys(ghBody).sort(), ['context', 'description', 'state', 'target_url']);
  assert.equal(ghBody.state, 'failure');
  assert.equal([...ghBody.description!].length, 140, 'cut to GitHub\'s 140 characters');
  const gl = forgeRequest({ ...base, forge: 'gitlab', baseUrl: 'https://gitlab.example.com/api/v4' }, A, 'pending', 'd', 't');
  assert.equal(gl.url, `https://gitlab.example.com/api/v4/projects/ops%2Ffleet/statuses/${A}`);
  assert.equal(gl.headers['private-token'], 'T0KEN');
  assert.deepEqual(JSON.parse(gl.body), { state: 'running', target_url: 't', description: 'd', name: 'gitfleet' });
  assert.equal((JSON.parse(forgeRequest({ ...base, forge: 'gitlab', baseUrl: 'x' }, A, 'failure', 'd', 't').body) as { state: string }).state, 'failed');
  assert.equal((JSON.parse(forgeRequest({ ...base, forge: 'gitlab', baseUrl: 'x' }, A, 'superseded', 'd', 't').body) as { state: string }).state, 'canceled');
  const gt = forgeRequest({ ...base, forge: 'gitea', baseUrl: 'https://gitea.example.com/api/v1' }, A, 'superseded', 'd', 't');
  assert.equal(gt.url, `https://gitea.example.com/api/v1/repos/ops/fleet/statuses/${A}`);
  assert.equal(gt.headers.authorization, 'token T0KEN');
  assert.deepEqual(JSON.parse(gt.body), { state: 'error', target_url: 't', description: 'd', context: 'gitfleet' });
});

function status(host: string, applied: string, failedOn?: string): HostStatus {
  const now = new Date().toISOString();
  return {
    host,
    place: '',
    tags: [],
    conditions: [{ type: 'Ready', status: !failedOn, reason: 'x', message: failedOn ? 'boom' : 'ok', lastTransitionTime: now }],
    lastAppliedRevision: applied,
    lastAttemptedRevision: failedOn ?? applied,
    resources: [{ id: 'container/web', sync: failedOn ? 'Failed' : 'InSync', health: 'Healthy', diff: [] }],
    attempts: [],
    updatedAt: now,
  };
}

test('the reporter: one post per change after the debounce, superseded for a head replaced while pending', async () => {
  const forge = await startReceiver(() => ({ status: 201 }));
  const index = new FleetIndex();
  const head = (revision: string) => ({ revision, hosts: ['h1', 'h2', 'h3'].map((id) => ({ id, dir: id, pathTags: [], crossTags: [] })), tags: [] }) as unknown as FleetHead;
  index.setHead(head(A));
  const tracker = new HostProblemTracker(new SecretValues());
  index.observe({ status: (id, s) => tracker.status(id, s), connected: (id, on) => tracker.connected(id, on), removed: () => {} });
  const queue = new DeliveryQueue({ capacity: 10 });
  // One try per post, so a generous timeout: a loaded machine can take over a second to answer one on loopback.
  const config: CommitStatusConfig = { forge: 'github', baseUrl: forge.url, repository: 'ops/fleet', token: 't', webUrl: 'https://hub', context: 'gitfleet', debounceMs: 50, minIntervalMs: 0, timeoutMs: 10_000, retry: { attempts: 1, initialDelayMs: 10, maxDelayMs: 10 } };
  const reporter = new CommitStatusReporter({ config, index, tracker, queue, logger: pino({ level: 'silent' }) });
  const posted = () => forge.requests.map((r) => `${r.path.slice(-40, -33)} ${(JSON.parse(r.body) as { state: string }).state}: ${(JSON.parse(r.body) as { description: string }).description}`);
  /** Until `n` statuses have been posted, then a little longer: nothing more may come. */
  const settle = async (n: number) => {
    for (const deadline = Date.now() + 10_000; forge.requests.length < n && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
  };
  for (const id of ['h1', 'h2', 'h3']) {
    index.hello(id, { place: id, tags: [], agentVersion: 't', seenAt: new Date().toISOString() });
    index.connected(id, true);
  }
  for (let i = 0; i < 20; i++) index.status('h1', status('h1', A));
  await settle(1);
  assert.deepEqual(posted(), ['aaaaaaa pending: 1 of 3 hosts applied it'], 'twenty reports, one post');
  index.status('h2', status('h2', A));
  index.status('h3', status('h3', 'c'.repeat(40), A));
  await settle(2);
  index.status('h3', status('h3', 'c'.repeat(40)));
  await settle(3);
  index.setHead(head(B));
  reporter.schedule();
  await settle(5);
  assert.deepEqual(posted(), [
    'aaaaaaa pending: 1 of 3 hosts applied it',
    'aaaaaaa failure: 1 of 3 hosts failed: h3',
    'aaaaaaa pending: 2 of 3 hosts applied it',
    'aaaaaaa error: superseded by bbbbbbb after 2 of 3 hosts applied it',
    'bbbbbbb pending: 0 of 3 hosts applied it',
  ]);
  assert.deepEqual(reporter.view(), { forge: 'github', revision: B, state: 'pending', description: '0 of 3 hosts applied it' });
  for (const id of ['h1', 'h2', 'h3']) index.status(id, status(id, B));
  await settle(6);
  assert.equal(posted().at(-1), 'bbbbbbb success: 3 of 3 hosts applied it');
  reporter.stop();
  queue.stop();
  await forge.close();
});
