// The rollout link between replicas without a database: notices it sends go
// to every link (as NOTIFY does, the sender's own included). A follower
// reloads on the leader's notice once per change (a repeat costs nothing),
// a joiner's question is answered by the leader only, and an admin action is
// taken by the leader and answered to the asking replica only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ClusterRolloutLink } from '../../hub/cluster/rollout-link.ts';
import { parseAction } from '../../hub/cluster/notices.ts';
import type { RolloutNotice } from '../../hub/cluster/rollout-notices.ts';
import type { RolloutCoordinator } from '../../hub/rollout/coordinator.ts';

function fakeCoordinator(leading: boolean, revision: string | null) {
  const calls: string[] = [];
  const c = {
    leading,
    revision,
    sync: (rev?: string | null) => {
      calls.push(`sync ${rev}`);
      return Promise.resolve();
    },
    act: (id: string, action: string, by: string) => {
      calls.push(`act ${action} ${id} ${by}`);
      return Promise.resolve(id === 'known' ? { ok: true, rollout: {} } : { ok: false, status: 404, why: `no rollout ${id}` });
    },
  };
  return { c, calls };
}

function network() {
  const links: ClusterRolloutLink[] = [];
  const sent: RolloutNotice[] = [];
  const link = (replica: string, coordinator: ReturnType<typeof fakeCoordinator>['c']) => {
    const l = new ClusterRolloutLink({
      replica,
      logger: pino({ level: 'silent' }),
      publish: (payload) => {
        // Through the real parser, as a replica receives it.
        const n = parseAction(payload) as RolloutNotice;
        sent.push(n);
        queueMicrotask(() => links.forEach((x) => x.heard(n)));
        return Promise.resolve();
      },
    });
    l.attach(coordinator as unknown as RolloutCoordinator);
    links.push(l);
    return l;
  };
  return { link, sent };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

test('followers reload once per change of the leader; the leader answers a joiner', async () => {
  const net = network();
  const lead = fakeCoordinator(true, 'a'.repeat(40));
  const f = fakeCoordinator(false, null);
  const leader = net.link('r1', lead.c);
  const follower = net.link('r2', f.c);
  leader.changed('a'.repeat(40));
  await settle();
  assert.deepEqual(f.calls, [`sync ${'a'.repeat(40)}`]);
  assert.deepEqual(lead.calls, [], 'the leader does not reload its own notice');
  f.c.revision = 'a'.repeat(40);
  // The question of a joiner: the leader repeats its notice (same version): nothing to reload.
  follower.ask();
  await settle();
  assert.equal(net.sent.filter((n) => n.k === 'rollouts').length, 2);
  assert.deepEqual(f.calls, [`sync ${'a'.repeat(40)}`], 'a repeat of what was loaded costs nothing');
  leader.changed('a'.repeat(40));
  await settle();
  assert.equal(f.calls.length, 2, 'a new change is loaded');
  leader.stop();
  follower.stop();
});

test('an admin action on a follower is taken by the leader and answered to that follower', async () => {
  const net = network();
  const lead = fakeCoordinator(true, null);
  const f1 = fakeCoordinator(false, null);
  const f2 = fakeCoordinator(false, null);
  net.link('r1', lead.c);
  const asking = net.link('r2', f1.c);
  net.link('r3', f2.c);
  assert.deepEqual(await asking.forward('known', 'pause', 'admin'), { ok: true });
  assert.deepEqual(await asking.forward('gone', 'abort', 'admin'), { ok: false, status: 404, why: 'no rollout gone' });
  assert.deepEqual(lead.calls, ['act pause known admin', 'act abort gone admin'], 'the leader took each once');
  assert.deepEqual([...f1.calls, ...f2.calls], [], 'followers take no action');
});
