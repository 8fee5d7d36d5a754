// The hub's rollout coordinator without a network: a fake store, a fake index
// of what each host reported, and the releases it sends. Which hosts a commit
// puts in waves (only the affected ones), what the others are released, a
// newer commit superseding an unfinished rollout, an invalid rollout.yaml
// holding its hosts, and hosts outside any policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { RolloutCoordinator } from '../../hub/rollout/coordinator.ts';
import type { RolloutRecord } from '../../hub/rollout/rollout-record.ts';
import type { DeclaredHost, FleetHead } from '../../hub/git/fleet-repo-view.ts';
import type { Release } from '../../shared/protocol.ts';
import { parseRolloutText } from '../../repo/rollout/rollout-files.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

const hosts: DeclaredHost[] = [
  { id: 'eu-1', dir: 'prod/eu/eu-1', pathTags: ['prod', 'prod/eu'], crossTags: [] },
  { id: 'eu-2', dir: 'prod/eu/eu-2', pathTags: ['prod', 'prod/eu'], crossTags: [] },
  { id: 'us-1', dir: 'prod/us/us-1', pathTags: ['prod', 'prod/us'], crossTags: [] },
  { id: 'lab-1', dir: 'lab/lab-1', pathTags: ['lab'], crossTags: [] },
];

function setup(changed: Record<string, string[] | null>) {
  const saved = new Map<string, RolloutRecord>();
  const applied = new Map<string, string | null>(hosts.map((h) => [h.id, A]));
  const sent: Array<[string, Release]> = [];
  const c = new RolloutCoordinator({
    store: { saveRollout: (r) => Promise.resolve(void saved.set(r.id, structuredClone(r))), listRollouts: () => Promise.resolve([...saved.values()].reverse()) },
    index: {
      get: (id) => (applied.has(id) ? ({ id, place: '', lastAppliedRevision: applied.get(id) ?? null, lastAttemptedRevision: applied.get(id) ?? null, ready: true, reconciling: false } as never) : null),
      ids: () => hosts.map((h) => h.id),
    },
    send: (host, release) => {
      sent.push([host, release]);
      return true;
    },
    changedPaths: (from, to) => Promise.resolve(changed[`${from[0]}${to[0]}`] ?? null),
    logger: pino({ level: 'silent' }),
    tickMs: 3_600_000,
  });
  const head = (revision: string, rollout: string | null, invalid: string[] = []): FleetHead => {
    const scopes = rollout === null ? [] : [{ dir: 'prod', file: 'prod/rollout.yaml', policy: parseRolloutText('prod/rollout.yaml', rollout).policy! }];
    return { revision, hosts, tags: [], issues: [], rollouts: { scopes, invalid } };
  };
  const last = (host: string) => [...sent].reverse().find(([h]) => h === host)?.[1];
  return { c, saved, applied, sent, head, last };
}

const policy = 'waves: [{ hosts: [eu-1] }]\nsoak: 1h\n';

test('only the hosts a commit affects are in waves; the unaffected and those outside any policy may apply the head', async () => {
  const { c, head, last } = setup({ ab: ['prod/eu/app.yaml'] });
  await c.start();
  await c.setHead(head(A, policy));
  await c.setHead(head(B, policy));
  const [r] = c.list();
  assert.deepEqual(r!.waves.map((w) => w.name), ['wave 1', 'the rest']);
  assert.equal(r!.hostCount, 2, 'eu-1 and eu-2: the commit changed prod/eu only');
  assert.deepEqual(last('eu-1'), { type: 'release', underPolicy: true, revision: B, rollout: r!.id });
  assert.deepEqual(last('eu-2'), { type: 'release', underPolicy: true, revision: A, rollout: r!.id }, 'waits for its wave at what it ran');
  assert.deepEqual(last('us-1'), { type: 'release', underPolicy: true, revision: B }, 'under the policy but not affected: the head');
  assert.deepEqual(last('lab-1'), { type: 'release', underPolicy: false, revision: null }, 'no rollout.yaml above it');
  await c.stop();
});

test('a newer commit supersedes the unfinished rollout; hosts keep what the old one released until their new wave opens', async () => {
  const { c, head, last, saved } = setup({ ab: ['prod/eu/app.yaml'], ac: ['prod/eu/app.yaml', 'prod/us/app.yaml'] });
  await c.start();
  await c.setHead(head(A, policy));
  await c.setHead(head(B, policy));
  await c.setHead(head(C, policy));
  const [newer, older] = c.list();
  assert.equal(older!.state, 'superseded');
  assert.equal(saved.get(older!.id)!.state, 'superseded', 'stored');
  assert.equal(newer!.revision, C);
  assert.equal(newer!.hostCount, 3, 'every host the new commit affects, judged against what each runs (A)');
  assert.equal(last('eu-1')!.revision, C, 'eu-1 is the first wave again');
  assert.equal(last('eu-2')!.revision, A);
  assert.equal(c.get(newer!.id)!.hosts.find((h) => h.id === 'eu-1')!.baseline, B, 'eu-1 may go back to what the old rollout released it');
  await c.stop();
});

test('an invalid rollout.yaml holds its hosts at what they run; a restarted coordinator resumes the stored rollouts', async () => {
  const s = setup({ ab: ['prod/eu/app.yaml'] });
  await s.c.start();
  await s.c.setHead(s.head(A, policy));
  await s.c.setHead(s.head(B, null, ['prod']));
  assert.deepEqual(s.last('eu-1'), { type: 'release', underPolicy: true, revision: A, rollout: 'invalid prod/rollout.yaml' });
  assert.deepEqual(s.last('us-1'), { type: 'release', underPolicy: true, revision: A, rollout: 'invalid prod/rollout.yaml' });
  assert.deepEqual(s.last('lab-1'), { type: 'release', underPolicy: false, revision: null });
  await s.c.stop();

  const t2 = setup({ ab: ['prod/eu/app.yaml'] });
  await t2.c.start();
  await t2.c.setHead(t2.head(A, policy));
  await t2.c.setHead(t2.head(B, policy));
  await t2.c.stop();
  const restarted = new RolloutCoordinator({
    store: { saveRollout: () => Promise.resolve(), listRollouts: () => Promise.resolve([...t2.saved.values()]) },
    index: { get: () => null, ids: () => [] },
    send: () => true,
    changedPaths: () => Promise.resolve(null),
    logger: pino({ level: 'silent' }),
    tickMs: 3_600_000,
  });
  await restarted.start();
  await restarted.setHead(t2.head(B, policy));
  assert.equal(restarted.list().length, 1, 'the same head does not start a second rollout');
  assert.equal(restarted.releaseFor('eu-1')!.revision, B);
  assert.equal(restarted.releaseFor('eu-2')!.revision, A);
  await restarted.stop();
});
