// The rollout coordinator on a cluster (docs/rollouts.md, On a cluster), two
// coordinators on one fake store as two replicas: the follower never releases
// a head the leader has not planned, releases what the leader decided once
// told, hands admin actions to the leader, and a follower that takes the lead
// resumes the stored rollouts without reopening a wave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { RolloutCoordinator } from '../../hub/rollout/coordinator.ts';
import type { CoordinatorOptions } from '../../hub/rollout/coordinator.ts';
import type { RolloutRecord } from '../../hub/rollout/rollout-record.ts';
import type { DeclaredHost, FleetHead } from '../../hub/git/fleet-repo-view.ts';
import type { Release } from '../../shared/protocol.ts';
import { parseRolloutText } from '../../repo/rollout/rollout-files.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const hosts: DeclaredHost[] = ['w-1', 'w-2', 'w-3'].map((id) => ({ id, dir: `prod/${id}`, pathTags: ['prod'], crossTags: [] }));
const policy = parseRolloutText('rollout.yaml', 'waves: [{ hosts: [w-1] }]\nsoak: 1h\n').policy!;
const head = (revision: string): FleetHead => ({ revision, hosts, tags: [], issues: [], rollouts: { scopes: [{ dir: '', file: 'rollout.yaml', policy }], invalid: [] } });

function cluster() {
  const saved = new Map<string, RolloutRecord>();
  const store: CoordinatorOptions['store'] = {
    saveRollout: (r) => Promise.resolve(void saved.set(r.id, structuredClone(r))),
    listRollouts: () => Promise.resolve([...saved.values()].reverse().map((r) => structuredClone(r))),
  };
  const index: CoordinatorOptions['index'] = {
    get: (id) => ({ id, place: '', lastAppliedRevision: A, lastAttemptedRevision: A, ready: true, reconciling: false }) as never,
    ids: () => hosts.map((h) => h.id),
  };
  const replica = (leading: boolean, extra: Partial<CoordinatorOptions> = {}) => {
    const sent: Array<[string, Release]> = [];
    const c = new RolloutCoordinator({
      store,
      index,
      send: (host, release) => (sent.push([host, release]), true),
      changedPaths: () => Promise.resolve(null),
      logger: pino({ level: 'silent' }),
      tickMs: 3_600_000,
      leading,
      ...extra,
    });
    return { c, sent, last: (host: string) => [...sent].reverse().find(([h]) => h === host)?.[1] };
  };
  return { saved, replica };
}

test('a follower releases nothing of a head the leader has not planned, then what the leader decided', async () => {
  const { replica } = cluster();
  const planned: Array<string | null> = [];
  const leader = replica(true, { onChanged: (revision) => planned.push(revision) });
  const follower = replica(false);
  await leader.c.start();
  await follower.c.start();
  await leader.c.setHead(head(A));
  await follower.c.sync(A);
  await follower.c.setHead(head(A));
  assert.deepEqual(follower.last('w-2'), { type: 'release', underPolicy: true, revision: A });

  // The follower's tracker sees B first (a webhook it answered): its hosts stay at A.
  follower.sent.length = 0;
  await follower.c.setHead(head(B));
  assert.equal(follower.sent.length, 0, 'nothing sent for a head the leader has not planned');
  assert.equal(follower.c.releaseFor('w-2')!.revision, A);

  await leader.c.setHead(head(B));
  assert.equal(planned.at(-1), B, 'the leader says it planned B');
  await follower.c.sync(B);
  const id = leader.c.list()[0]!.id;
  assert.deepEqual(follower.last('w-1'), { type: 'release', underPolicy: true, revision: B, rollout: id }, 'the canary wave is open');
  assert.deepEqual(follower.last('w-2'), { type: 'release', underPolicy: true, revision: A, rollout: id }, 'held at what it ran');
  for (const h of ['w-1', 'w-2', 'w-3']) assert.deepEqual(follower.c.releaseFor(h), leader.c.releaseFor(h), `${h}: the same release on both replicas`);
  await leader.c.stop();
  await follower.c.stop();
});

test("a follower hands admin actions to the leader and answers with the leader's outcome", async () => {
  const { replica } = cluster();
  const leader = replica(true);
  const asked: string[] = [];
  const follower = replica(false, {
    forward: async (id, action, by) => {
      asked.push(`${action} ${id} by ${by}`);
      const r = await leader.c.act(id, action, by);
      return r.ok ? { ok: true } : { ok: false, status: r.status === 404 ? 404 : 409, why: r.why };
    },
  });
  await leader.c.start();
  await follower.c.start();
  await leader.c.setHead(head(A));
  await leader.c.setHead(head(B));
  await follower.c.sync(B);
  const id = leader.c.list()[0]!.id;
  const paused = await follower.c.act(id, 'pause', 'admin');
  assert.ok(paused.ok && paused.rollout.state === 'paused', JSON.stringify(paused));
  assert.deepEqual(asked, [`pause ${id} by admin`]);
  assert.equal(leader.c.list()[0]!.state, 'paused', "the leader's rollout is paused");
  const again = await follower.c.act(id, 'pause', 'admin');
  assert.deepEqual(again.ok ? null : again.status, 409, 'the leader refuses a second pause');
  const silent = replica(false, { forward: () => Promise.resolve(null) });
  await silent.c.start();
  const unanswered = await silent.c.act(id, 'resume', 'admin');
  assert.equal(unanswered.ok ? null : unanswered.status, 503, 'no leader answered');
  await leader.c.stop();
  await follower.c.stop();
  await silent.c.stop();
});

test('a follower that takes the lead resumes the stored rollouts without reopening a wave', async () => {
  const { replica, saved } = cluster();
  const old = replica(true);
  const next = replica(false);
  await old.c.start();
  await next.c.start();
  await old.c.setHead(head(A));
  await old.c.setHead(head(B));
  await next.c.setHead(head(B));
  await old.c.stop();
  const before = structuredClone([...saved.values()][0]!);
  assert.notEqual(before.waves[0]!.openedAt, null);

  await next.c.lead();
  assert.ok(next.c.leading);
  assert.equal(saved.size, 1, 'no second rollout for the same head');
  const after = [...saved.values()][0]!;
  assert.equal(after.waves[0]!.openedAt, before.waves[0]!.openedAt, 'wave 1 keeps its opening');
  assert.equal(after.history.filter((a) => a.action === 'opened').length, 1);
  assert.equal(next.c.releaseFor('w-1')!.revision, B);
  assert.equal(next.c.releaseFor('w-2')!.revision, A);
  next.c.follow();
  assert.equal(next.c.leading, false);
  await next.c.stop();
});
