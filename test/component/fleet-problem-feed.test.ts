// The cluster leader's problem feed (hub/notify/fleet-problem-feed.ts) with a
// real FleetIndex fed the way the change follower feeds it: a host whose
// status changed on another replica has its full status read back from the
// store (once, however many notices), a host whose replica died goes offline
// and comes back online when another replica holds its session, and this
// replica's own statuses are never read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { FleetIndex } from '../../hub/fleet/fleet-index.ts';
import type { IndexRecord } from '../../hub/fleet/fleet-index.ts';
import { digestStatus } from '../../hub/fleet/host-digest.ts';
import { HostProblemTracker } from '../../hub/notify/host-problems.ts';
import type { ProblemTransition } from '../../hub/notify/host-problems.ts';
import { FleetProblemFeed } from '../../hub/notify/fleet-problem-feed.ts';
import { SecretValues } from '../../shared/secrets/mask.ts';
import type { FleetStore } from '../../hub/store/fleet-store.ts';
import type { HostStatus } from '../../shared/status.ts';
import { simStatus } from '../integration/sim-agent.ts';
import { waitFor } from '../helpers/wait.ts';

const REV1 = 'a1'.repeat(20);
const REV2 = 'b2'.repeat(20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * Waits until `transitions` holds `count` entries (the feed drains on a 200 ms timer, which a loaded CI
 * machine may run late), then one more drain period so an unexpected extra transition would show too.
 */
async function transitionsReach(transitions: readonly string[], count: number): Promise<void> {
  await waitFor(`${count} transition(s)`, () => transitions.length >= count, 10_000);
  await sleep(300);
}

function setup() {
  const statuses = new Map<string, HostStatus>();
  const reads: string[] = [];
  // Only statuses() is used by the feed: the full statuses replicas stored.
  const store = {
    statuses: (ids: readonly string[]) => {
      reads.push(...ids);
      return Promise.resolve(ids.flatMap((id) => (statuses.has(id) ? [{ id, status: statuses.get(id)! }] : [])));
    },
  } as unknown as FleetStore;
  let feed: FleetProblemFeed | null = null;
  const index = new FleetIndex((id) => feed?.changed(id));
  index.setReplica('leader');
  index.setLiveReplicas(['leader', 'other']);
  const tracker = new HostProblemTracker(new SecretValues());
  const transitions: string[] = [];
  tracker.subscribe({ transition: (t: ProblemTransition) => transitions.push(`${t.host} ${t.kind} ${t.after ? 'began' : 'ended'}`) });
  feed = new FleetProblemFeed({ index, store, tracker, logger: pino({ level: 'silent' }) });
  /** What the change follower does when another replica stored a status. */
  const remote = (id: string, status: HostStatus, sessionReplica: string | null = 'other') => {
    statuses.set(id, status);
    const r: IndexRecord = { id, place: '', tags: [], agentVersion: 'sim', lastSeenAt: status.updatedAt, enrolled: true, digest: digestStatus(status), sessionReplica };
    index.applyRecord(r);
  };
  return { index, feed, tracker, transitions, reads, remote, statuses };
}

test('a status stored by another replica is read back once and its failure begins; its recovery ends it', async () => {
  const s = setup();
  s.remote('web-03', simStatus('web-03', { applied: REV1 }));
  s.feed.baseline(new Map());
  // A status is told apart from the last by its time (ISO, to the millisecond): the next one must be later.
  await sleep(5);
  const failing = simStatus('web-03', { applied: REV1, failedOn: REV2, message: 'start failed' });
  s.remote('web-03', failing);
  s.remote('web-03', failing);
  await transitionsReach(s.transitions, 1);
  assert.deepEqual(s.transitions, ['web-03 failed began']);
  assert.deepEqual(s.reads, ['web-03'], 'one read for a burst of notices');
  assert.equal(s.tracker.problems('web-03').failed?.revision, REV2);
  await sleep(5);
  s.remote('web-03', simStatus('web-03', { applied: REV2 }));
  await transitionsReach(s.transitions, 2);
  assert.deepEqual(s.transitions, ['web-03 failed began', 'web-03 failed ended']);
  s.feed.stop();
});

test('a host whose replica died goes offline, and is back when another replica holds its session', async () => {
  const s = setup();
  s.remote('web-04', simStatus('web-04', { applied: REV1 }));
  s.feed.baseline(new Map([['web-04', s.statuses.get('web-04')!.updatedAt]]));
  s.index.setLiveReplicas(['leader']);
  await transitionsReach(s.transitions, 1);
  assert.deepEqual(s.transitions, ['web-04 offline began']);
  // Its agent reconnected to this replica: a local session.
  s.index.connected('web-04', true);
  await transitionsReach(s.transitions, 2);
  assert.deepEqual(s.transitions, ['web-04 offline began', 'web-04 offline ended']);
  assert.deepEqual(s.reads, [], 'nothing read back: the status did not change');
  s.feed.stop();
});

test('this replica\'s own statuses come whole through the index observer, never read back', async () => {
  const s = setup();
  s.feed.baseline(new Map());
  s.index.observe({ status: (id, status) => s.feed.localStatus(id, status), connected: () => undefined, removed: (id) => s.feed.removed(id) });
  s.index.connected('web-01', true);
  s.index.status('web-01', simStatus('web-01', { applied: REV1, failedOn: REV2 }));
  await transitionsReach(s.transitions, 1);
  assert.deepEqual(s.transitions, ['web-01 failed began']);
  assert.deepEqual(s.reads, []);
  s.feed.stop();
});
