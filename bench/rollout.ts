// Rollout benchmark (issue 16): a hub in this process and N simulated agents
// (default 1,000; test/harness/rollout-sim-fleet.ts: real WebSockets, the real
// protocol, an apply of 20–80 ms each). A commit under a rollout.yaml of three
// percentage waves with a soak between them goes from the commit to every host
// applied and Ready; the time is compared with the sum of the configured soaks
// (the floor a staged rollout cannot beat). Side by side in the same run, the
// baseline: the same fleet and commit without a rollout.yaml (every host is
// released at once), the coordination's cost without any soak.
// With --cluster, the same staged commit also goes through a cluster of three
// hub replicas on one PostgreSQL server (a private one, test/harness/
// postgres.ts), the agents spread evenly over them: the leader plans and
// advances, the others release to their own agents on its notices, and the
// hosts' progress reaches the leader through the change feed. "Done" is what
// the leader sees: every host applied and Ready, and the rollout done.
//   node --import tsx bench/rollout.ts [N] [soakSeconds] [--cluster]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningHub } from '../hub/main.ts';
import { postgresMissing, startPostgres } from '../test/harness/postgres.ts';
import { SimFleet } from '../test/harness/rollout-sim-fleet.ts';
import { ENROLL } from '../test/integration/hub-harness.ts';
import { declaredHosts, FakeFleetRepo, readHead, startRolloutHub } from '../test/integration/rollout-hub-fixture.ts';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const CLUSTER = process.argv.includes('--cluster');
const N = Number(args[0] ?? 1000);
const SOAK_S = Number(args[1] ?? 5);
const REPLICAS = 3;
const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Result {
  seconds: number;
  waves: number[];
}

/**
 * Seconds from the commit to every host at it (and, with a policy, the rollout done), as `judge` sees it:
 * the hub itself, or a cluster's leader. `hubs` share the repo; the agents are spread over them evenly.
 */
async function measure(hubs: RunningHub[], judge: RunningHub, repo: FakeFleetRepo, ids: string[], policy: string | null): Promise<Result> {
  const fleets = hubs.map((h, k) => new SimFleet({ url: h.agentUrl, token: ENROLL, ids: ids.filter((_, i) => i % hubs.length === k), initialRevision: OLD }));
  const at = (id: string, revision: string) => judge.index.get(id)?.lastAppliedRevision === revision;
  try {
    await Promise.all(fleets.map((f) => f.connectAll()));
    await until('every agent to report', () => ids.every((id) => at(id, OLD)), 120_000);
    repo.commit(NEW, policy);
    const started = performance.now();
    await readHead(judge);
    // Without a policy the agents find the head by polling: here at once, the best case.
    for (const f of fleets) f.setHead(NEW);
    await until('every host at the commit', () => ids.every((id) => at(id, NEW) && judge.index.get(id)?.ready === true), 600_000);
    if (policy) await until('the rollout to be done', () => judge.rollouts!.list()[0]?.revision === NEW && judge.rollouts!.list()[0]?.state === 'done', 60_000);
    const seconds = (performance.now() - started) / 1000;
    return { seconds, waves: judge.rollouts!.list()[0]?.waves.map((w) => w.hosts) ?? [] };
  } finally {
    await Promise.all(fleets.map((f) => f.close()));
  }
}

function fleetRepo(policy: string | null): { repo: FakeFleetRepo; ids: string[] } {
  const ids = Array.from({ length: N }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const repo = new FakeFleetRepo(OLD, declaredHosts(ids));
  // The first head already has the policy (as a fleet that adopted rollouts has), so nothing moves before the commit.
  repo.commit(OLD, policy);
  return { repo, ids };
}

async function single(policy: string | null): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-bench-rollout-'));
  const { repo, ids } = fleetRepo(policy);
  const hub = await startRolloutHub({ dataDir: dir, repo, tickMs: 100 });
  try {
    return await measure([hub], hub, repo, ids, policy);
  } finally {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function cluster(policy: string): Promise<Result> {
  const server = await startPostgres({ maxConnections: 200 });
  const dirs: string[] = [];
  const hubs: RunningHub[] = [];
  try {
    const database = await server.createDatabase();
    const { repo, ids } = fleetRepo(policy);
    for (let i = 0; i < REPLICAS; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'gitfleet-bench-rollout-'));
      dirs.push(dir);
      hubs.push(await startRolloutHub({ dataDir: dir, repo, tickMs: 100, database }));
    }
    await until('one replica to lead', () => hubs.some((h) => h.cluster!.leader.leader), 30_000);
    const leader = hubs.find((h) => h.cluster!.leader.leader)!;
    // Every replica released the first head (the leader planned it): nothing moves before the commit.
    await until('every replica to take the first head', () => hubs.every((h) => h.rollouts!.revision === OLD), 30_000);
    return await measure(hubs, leader, repo, ids, policy);
  } finally {
    for (const h of hubs.reverse()) await h.close();
    await server.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

const policy = `waves: [{ percent: 10 }, { percent: 30 }, { percent: 100 }]\nsoak: ${SOAK_S}s\n`;
const soaks = 2 * SOAK_S;
if (CLUSTER && postgresMissing() !== null) throw new Error(`--cluster needs a PostgreSQL server: ${postgresMissing()}`);
const baseline = await single(null);
const staged = await single(policy);
const onCluster = CLUSTER ? await cluster(policy) : null;
const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(56)} ${value}\n`);
const overhead = (r: Result) => `${(r.seconds - soaks).toFixed(2)} s (${((r.seconds - soaks) / 3).toFixed(2)} s per wave)`;
line(`agents`, String(N));
line(`waves (hosts)`, staged.waves.join(' / '));
line(`baseline, no rollout.yaml: commit → all applied`, `${baseline.seconds.toFixed(2)} s`);
line(`staged, one hub: commit → fully rolled out`, `${staged.seconds.toFixed(2)} s`);
if (onCluster) line(`staged, ${REPLICAS} replicas on PostgreSQL: commit → rolled out`, `${onCluster.seconds.toFixed(2)} s (waves ${onCluster.waves.join(' / ')})`);
line(`sum of the configured soaks (2 × ${SOAK_S} s)`, `${soaks.toFixed(2)} s`);
line(`overhead over the soaks, one hub`, overhead(staged));
if (onCluster) line(`overhead over the soaks, ${REPLICAS} replicas`, overhead(onCluster));
