// Rollout benchmark (issue 16): a hub in this process and N simulated agents
// (default 1,000; test/harness/rollout-sim-fleet.ts: real WebSockets, the real
// protocol, an apply of 20–80 ms each). A commit under a rollout.yaml of three
// percentage waves with a soak between them goes from the commit to every host
// applied and Ready; the time is compared with the sum of the configured soaks
// (the floor a staged rollout cannot beat). Side by side in the same run, the
// baseline: the same fleet and commit without a rollout.yaml (every host is
// released at once), the coordination's cost without any soak.
//   node --import tsx bench/rollout.ts [N] [soakSeconds]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimFleet } from '../test/harness/rollout-sim-fleet.ts';
import { ENROLL } from '../test/integration/hub-harness.ts';
import { declaredHosts, FakeFleetRepo, readHead, startRolloutHub } from '../test/integration/rollout-hub-fixture.ts';

const N = Number(process.argv[2] ?? 1000);
const SOAK_S = Number(process.argv[3] ?? 5);
const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Seconds from the commit to every host at it (and, with a policy, the rollout done). */
async function run(policy: string | null): Promise<{ seconds: number; waves: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-bench-rollout-'));
  const ids = Array.from({ length: N }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const repo = new FakeFleetRepo(OLD, declaredHosts(ids));
  // The first head already has the policy (as a fleet that adopted rollouts has), so nothing moves before the commit.
  repo.commit(OLD, policy);
  const hub = await startRolloutHub({ dataDir: dir, repo, tickMs: 100 });
  const fleet = new SimFleet({ url: hub.agentUrl, token: ENROLL, ids, initialRevision: OLD });
  try {
    await fleet.connectAll();
    await until('every agent to report', () => ids.every((id) => hub.index.get(id)?.lastAppliedRevision === OLD), 120_000);
    repo.commit(NEW, policy);
    const started = performance.now();
    await readHead(hub);
    // Without a policy the agents find the head by polling: here at once, the best case.
    fleet.setHead(NEW);
    await until('every host at the commit', () => ids.every((id) => hub.index.get(id)?.lastAppliedRevision === NEW && hub.index.get(id)?.ready === true), 600_000);
    if (policy) await until('the rollout to be done', () => hub.rollouts!.list()[0]?.state === 'done', 60_000);
    const seconds = (performance.now() - started) / 1000;
    return { seconds, waves: hub.rollouts!.list()[0]?.waves.map((w) => w.hosts) ?? [] };
  } finally {
    await fleet.close();
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const policy = `waves: [{ percent: 10 }, { percent: 30 }, { percent: 100 }]\nsoak: ${SOAK_S}s\n`;
const soaks = 2 * SOAK_S;
const baseline = await run(null);
const staged = await run(policy);
const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(46)} ${value}\n`);
line(`agents`, String(N));
line(`waves (hosts)`, staged.waves.join(' / '));
line(`baseline, no rollout.yaml: commit → all applied`, `${baseline.seconds.toFixed(2)} s`);
line(`staged: commit → fully rolled out`, `${staged.seconds.toFixed(2)} s`);
line(`sum of the configured soaks (2 × ${SOAK_S} s)`, `${soaks.toFixed(2)} s`);
line(`overhead over the soaks`, `${(staged.seconds - soaks).toFixed(2)} s (${((staged.seconds - soaks) / 3).toFixed(2)} s per wave)`);
