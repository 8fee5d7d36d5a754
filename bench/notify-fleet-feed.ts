// What the cluster leader pays to feed notifications from the whole fleet
// (hub/notify/fleet-problem-feed.ts): N hosts fail on another replica at once;
// the leader learns of it through its index (as the change follower applies
// the records) and reads each full status back from a real PostgreSQL. Timed
// until the tracker has every failure. Baseline, in the same run: the same N
// failures as a single hub sees them (full statuses handed over by its own
// sessions, no read back), and the leader reading one host per query (16 at a
// time) instead of a thousand per query.
//   node --import tsx bench/notify-fleet-feed.ts [hosts]
import pino from 'pino';
import { loadavg } from 'node:os';
import { startPostgres } from '../test/harness/postgres.ts';
import { PostgresFleetStore } from '../hub/store/postgres-store.ts';
import { FleetIndex } from '../hub/fleet/fleet-index.ts';
import { digestStatus } from '../hub/fleet/host-digest.ts';
import { HostProblemTracker } from '../hub/notify/host-problems.ts';
import { FleetProblemFeed } from '../hub/notify/fleet-problem-feed.ts';
import { SecretValues } from '../shared/secrets/mask.ts';
import { simStatus } from '../test/integration/sim-agent.ts';
import type { HostStatus } from '../shared/status.ts';
import type { FleetStore } from '../hub/store/fleet-store.ts';

const HOSTS = Number(process.argv[2] ?? 5000);
const REV1 = 'a1'.repeat(20);
const REV2 = 'b2'.repeat(20);
const ids = Array.from({ length: HOSTS }, (_, i) => `web-${String(i).padStart(6, '0')}`);

function failures(tracker: HostProblemTracker): number {
  return ids.filter((id) => tracker.problems(id).failed).length;
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 5));
}

const pgCluster = await startPostgres({ fsync: true });
try {
  const url = await pgCluster.createDatabase();
  const store = await PostgresFleetStore.open(url, {});
  const now = new Date().toISOString();
  for (let i = 0; i < ids.length; i += 200) await Promise.all(ids.slice(i, i + 200).map((id) => store.enroll(id, 'x'.repeat(64), now)));
  const failing = new Map<string, HostStatus>(ids.map((id) => [id, simStatus(id, { applied: REV1, failedOn: REV2, message: 'container/web: start failed' })]));
  for (let i = 0; i < ids.length; i += 200) await Promise.all(ids.slice(i, i + 200).map((id) => store.saveStatus(id, 1, failing.get(id)!)));

  // Baseline: a single hub, statuses from its own sessions.
  const localTracker = new HostProblemTracker(new SecretValues());
  const localIndex = new FleetIndex();
  localIndex.observe({ status: (id, s) => localTracker.status(id, s), connected: () => undefined, removed: () => undefined });
  const t0 = performance.now();
  for (const id of ids) localIndex.status(id, failing.get(id)!);
  const localMs = performance.now() - t0;

  // The leader: the same failures stored by another replica, applied to its index as the follower does.
  const asLeader = async (reader: FleetStore): Promise<number> => {
    const tracker = new HostProblemTracker(new SecretValues());
    let feed: FleetProblemFeed | null = null;
    const index = new FleetIndex((id) => feed?.changed(id));
    index.setReplica('leader');
    index.setLiveReplicas(['leader', 'other']);
    feed = new FleetProblemFeed({ index, store: reader, tracker, logger: pino({ level: 'silent' }) });
    feed.baseline(new Map());
    const t1 = performance.now();
    for (const id of ids) {
      const s = failing.get(id)!;
      index.applyRecord({ id, place: '', tags: [], agentVersion: 'sim', lastSeenAt: s.updatedAt, enrolled: true, digest: digestStatus(s), sessionReplica: 'other' });
    }
    await until(() => failures(tracker) === HOSTS);
    feed.stop();
    return performance.now() - t1;
  };
  const leaderMs = await asLeader(store);
  // One query per host, 16 at a time.
  const oneByOne = {
    statuses: async (wanted: readonly string[]) => {
      const out: Array<{ id: string; status: HostStatus }> = [];
      for (let i = 0; i < wanted.length; i += 16) {
        for (const r of await Promise.all(wanted.slice(i, i + 16).map((id) => store.getHost(id)))) if (r?.status) out.push({ id: r.id, status: r.status });
      }
      return out;
    },
  } as unknown as FleetStore;
  const oneByOneMs = await asLeader(oneByOne);
  await store.close();
  console.log(`${HOSTS} hosts failing at once, load average ${loadavg()[0]!.toFixed(1)}:`);
  console.log(`  single hub (own sessions, no read back): ${localMs.toFixed(0)} ms (${Math.round(HOSTS / (localMs / 1000))} hosts/s)`);
  console.log(`  cluster leader (statuses stored by another replica, read back from PostgreSQL, 1,000 per query): ${leaderMs.toFixed(0)} ms (${Math.round(HOSTS / (leaderMs / 1000))} hosts/s)`);
  console.log(`  cluster leader, one host per query (16 at a time): ${oneByOneMs.toFixed(0)} ms (${Math.round(HOSTS / (oneByOneMs / 1000))} hosts/s)`);
} finally {
  await pgCluster.stop();
}
