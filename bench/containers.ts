// The agent's container converge next to its baselines, side by side in one
// run on the real engine (medians of --runs runs, interleaved):
//   floor    raw Engine API create+start of N containers in parallel
//   compose  docker-compose 1.29 `up -d` of the same N, and its no-op re-run
//   agent    the engine's converge (observe → plan → apply → observe) of the same N
//            from nothing, then a no-op pass (observe + plan, nothing to do),
//            and a full no-op reconcile cycle through a real local Git source
// The idle daemon's memory and CPU are bench/agent-footprint.ts's job.
//   node --import tsx bench/containers.ts [--runs 3] [--sizes 10,50]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { measureApiFloor, measureCompose } from './containers-baselines.ts';
import { median } from './stats.ts';
import { DockerContainerDriver } from '../agent/drivers/docker/docker-container-driver.ts';
import { MemoryUnitDriver } from '../agent/drivers/memory/units.ts';
import { MemoryFileDriver } from '../agent/drivers/memory/files.ts';
import { converge } from '../agent/engine/converge.ts';
import { observe } from '../agent/engine/observe.ts';
import { plan } from '../agent/engine/planner.ts';
import { emptyInventory, type Inventory } from '../agent/engine/model.ts';
import type { ContainerResource, DesiredState } from '../shared/resources.ts';
import type { Drivers } from '../agent/drivers/types.ts';
import { loadAgentConfig } from '../agent/config/agent-config.ts';
import { createAgent } from '../agent/main.ts';
import { WorkRepo } from '../test/harness/git-servers.ts';

const BENCH_LABEL = 'io.gitfleet.bench';
const docker = new Dockerode();

function desiredOf(n: number, runId: string): DesiredState {
  const resources: ContainerResource[] = Array.from({ length: n }, (_, i) => ({
    id: `container/gfagent-${runId}-${i}`,
    kind: 'container',
    name: `gfagent-${runId}-${i}`,
    spec: { image: 'local/busybox:1', command: ['sleep', '3600'], init: true, network: 'none', labels: { [BENCH_LABEL]: runId } },
    drift: 'correct',
    dependsOn: [],
    source: { file: 'bench.yaml', line: 1, layer: '' },
  }));
  return { host: 'bench', place: 'bench', tags: [], vars: {}, layers: [''], resources, allowEmpty: false };
}

async function cleanup(runId: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${BENCH_LABEL}=${runId}`] }) });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
}

function drivers(): Drivers {
  return { containers: new DockerContainerDriver(), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/srv'] }) };
}

async function measureAgent(n: number): Promise<{ convergeMs: number; noopMs: number }> {
  const runId = `b${randomBytes(4).toString('hex')}`;
  const desired = desiredOf(n, runId);
  const d = drivers();
  let inventory: Inventory = emptyInventory();
  try {
    const started = performance.now();
    const result = await converge(d, desired, inventory, { revision: 'r1', saveInventory: async (inv) => void (inventory = inv) });
    const convergeMs = performance.now() - started;
    if (!result.converged) throw new Error(`agent did not converge: ${JSON.stringify(result.failures)}`);
    const t = performance.now();
    const live = await observe(d, desired, inventory);
    const noop = plan(desired, live, inventory, { revision: 'r1', suppressed: new Map(), defaultStopTimeout: 10 });
    const noopMs = performance.now() - t;
    if (noop.steps.length !== 0) throw new Error('the no-op pass planned steps');
    return { convergeMs, noopMs };
  } finally {
    await cleanup(runId);
  }
}

/** A whole reconcile cycle with nothing to do: Git source sync (remote unchanged), load, observe, plan, status write. */
async function measureNoopCycle(n: number, runs: number): Promise<number> {
  const runId = `b${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'gf-bench-cycle-'));
  const repo = new WorkRepo(join(dir, 'fleet.git'));
  try {
    const containers = Object.fromEntries(desiredOf(n, runId).resources.map((r) => [r.name, r.spec]));
    repo.commit({ 'bench/host.yaml': '', 'bench/apps.yaml': stringify({ containers }) }, 'bench');
    repo.push();
    const config = loadAgentConfig({ env: {}, overrides: { repo: repo.bare, host: 'bench', stateDir: join(dir, 'state') } });
    const agent = await createAgent(config, pino({ level: 'silent' }), { drivers: { units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/srv'] }) } });
    const first = await agent.cycle.run('startup');
    if (first.result !== 'Succeeded') throw new Error(`first cycle: ${first.result} ${first.message ?? ''}`);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const outcome = await agent.cycle.run('poll');
      times.push(performance.now() - t);
      if (outcome.result !== 'NoChange') throw new Error(`no-op cycle did ${outcome.result}`);
    }
    return median(times);
  } finally {
    await cleanup(runId);
    repo.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, sizes: { type: 'string', default: '10,50' } } });
  const runs = Number(values.runs);
  console.log(`containers: medians of ${runs} interleaved runs on the real engine (ms)`);
  console.log('N    api-floor  compose-up  agent-converge  agent/floor  agent/compose  compose-noop  agent-noop-pass  agent-noop-cycle');
  for (const n of values.sizes.split(',').map(Number)) {
    const floor: number[] = [];
    const up: number[] = [];
    const cnoop: number[] = [];
    const agent: number[] = [];
    const anoop: number[] = [];
    for (let r = 0; r < runs; r++) {
      floor.push(await measureApiFloor(n, docker));
      const c = await measureCompose(n, docker);
      up.push(c.upMs);
      cnoop.push(c.noopMs);
      const a = await measureAgent(n);
      agent.push(a.convergeMs);
      anoop.push(a.noopMs);
    }
    const cycle = await measureNoopCycle(n, Math.max(5, runs));
    const [f, u, a] = [median(floor), median(up), median(agent)];
    console.log(
      `${String(n).padEnd(4)} ${f.toFixed(0).padStart(9)}  ${u.toFixed(0).padStart(10)}  ${a.toFixed(0).padStart(14)}  ${(a / f).toFixed(2).padStart(10)}×  ${(a / u).toFixed(2).padStart(12)}×  ${median(cnoop).toFixed(0).padStart(12)}  ${median(anoop).toFixed(1).padStart(15)}  ${cycle.toFixed(1).padStart(16)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
