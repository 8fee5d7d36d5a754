// A 10-service Compose stack (one user-defined network, a named volume per
// service) converged from nothing and then again (no-op), by the agent and by
// Debian's docker-compose 1.29 `up -d`, side by side in one run on the real
// engine, interleaved, medians of --runs:
//   agent-apply     load the Compose file from a fleet tree, then converge until the last step finished
//   agent-converge  the same until the converge returned (includes the health verdict's settle time)
//   agent-noop      a second full converge: observe → plan, no step
//   compose-up      docker-compose up -d from nothing
//   compose-noop    a second docker-compose up -d
// Cleanup (containers, network, volumes) is not timed.
//   node --import tsx bench/compose.ts [--runs 3] [--services 10]
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import Dockerode from 'dockerode';
import { DockerContainerDriver } from '../agent/drivers/docker/docker-container-driver.ts';
import { MemoryFileDriver } from '../agent/drivers/memory/files.ts';
import { MemoryUnitDriver } from '../agent/drivers/memory/units.ts';
import { converge } from '../agent/engine/converge.ts';
import { emptyInventory, type Inventory } from '../agent/engine/model.ts';
import { loadDesiredState } from '../repo/tree/index.ts';
import { median } from './stats.ts';

const run = promisify(execFile);
const BENCH_LABEL = 'io.gitfleet.bench';
const docker = new Dockerode();

function stack(n: number, prefix: string, runId: string, named: boolean): string {
  const services = Array.from({ length: n }, (_, i) =>
    [
      `  s${i}:`,
      `    image: local/busybox:1`,
      ...(named ? [`    container_name: ${prefix}-s${i}`] : []),
      `    command: ["sleep", "3600"]`,
      `    init: true`,
      `    labels: { ${BENCH_LABEL}: "${runId}" }`,
      `    networks: [backend]`,
      `    volumes: ["data${i}:/data"]`,
    ].join('\n'),
  );
  const volumes = Array.from({ length: n }, (_, i) => `  data${i}:${named ? ` { name: ${prefix}-data${i} }` : ''}`);
  return `services:\n${services.join('\n')}\nnetworks:\n  backend:${named ? ` { name: ${prefix}-net }` : ''}\nvolumes:\n${volumes.join('\n')}\n`;
}

async function cleanup(runId: string, prefix: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${BENCH_LABEL}=${runId}`] }) });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
  for (const n of await docker.listNetworks({ filters: JSON.stringify({ name: [prefix] }) })) await docker.getNetwork(n.Id).remove().catch(() => {});
  const { Volumes } = await docker.listVolumes({ filters: JSON.stringify({ name: [prefix] }) });
  await Promise.all((Volumes ?? []).map((v) => docker.getVolume(v.Name).remove().catch(() => {})));
}

async function measureAgent(n: number): Promise<{ applyMs: number; convergeMs: number; noopMs: number }> {
  const runId = randomBytes(4).toString('hex');
  const prefix = `gfbc${runId}`;
  const tree = mkdtempSync(join(tmpdir(), 'gitfleet-bench-compose-tree-'));
  try {
    mkdirSync(join(tree, 'h1'));
    writeFileSync(join(tree, 'h1', 'host.yaml'), '');
    writeFileSync(join(tree, 'compose.yaml'), stack(n, prefix, runId, true));
    const drivers = { containers: new DockerContainerDriver(), units: new MemoryUnitDriver(), files: new MemoryFileDriver({ allow: ['/srv'] }) };
    let inventory: Inventory = emptyInventory();
    let lastStep = 0;
    const options = { revision: 'r1', saveInventory: async (i: Inventory) => void (inventory = i), onStep: () => void (lastStep = performance.now()) };
    const started = performance.now();
    const desired = await loadDesiredState(tree, { host: 'h1' });
    const result = await converge(drivers, desired, inventory, options);
    const convergeMs = performance.now() - started;
    if (!result.converged) throw new Error(`agent did not converge: ${JSON.stringify(result.failures)}`);
    const applyMs = lastStep - started;
    let steps = 0;
    const t = performance.now();
    await converge(drivers, await loadDesiredState(tree, { host: 'h1' }), inventory, { ...options, onStep: () => void steps++ });
    const noopMs = performance.now() - t;
    if (steps !== 0) throw new Error(`the no-op converge ran ${steps} steps`);
    return { applyMs, convergeMs, noopMs };
  } finally {
    await cleanup(runId, prefix);
    rmSync(tree, { recursive: true, force: true });
  }
}

async function measureCompose(n: number): Promise<{ upMs: number; noopMs: number }> {
  const runId = randomBytes(4).toString('hex');
  const project = `gfbd${runId}`;
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-bench-compose-'));
  const file = join(dir, 'docker-compose.yml');
  writeFileSync(file, stack(n, project, runId, false));
  const args = ['-p', project, '-f', file, 'up', '-d'];
  try {
    let t = performance.now();
    await run('docker-compose', args, { maxBuffer: 16 << 20 });
    const upMs = performance.now() - t;
    t = performance.now();
    await run('docker-compose', args, { maxBuffer: 16 << 20 });
    return { upMs, noopMs: performance.now() - t };
  } finally {
    await cleanup(runId, project);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, services: { type: 'string', default: '10' } } });
  const runs = Number(values.runs);
  const n = Number(values.services);
  const rows = { applyMs: [] as number[], convergeMs: [] as number[], noopMs: [] as number[], upMs: [] as number[], composeNoopMs: [] as number[] };
  for (let r = 0; r < runs; r++) {
    const a = await measureAgent(n);
    const c = await measureCompose(n);
    rows.applyMs.push(a.applyMs);
    rows.convergeMs.push(a.convergeMs);
    rows.noopMs.push(a.noopMs);
    rows.upMs.push(c.upMs);
    rows.composeNoopMs.push(c.noopMs);
  }
  const m = (xs: number[]) => median(xs).toFixed(0).padStart(8);
  console.log(`${n}-service Compose stack (1 network, ${n} volumes), medians of ${runs} interleaved runs (ms)`);
  console.log('        agent-apply  agent-converge  agent-noop   compose-up  compose-noop');
  console.log(`from 0  ${m(rows.applyMs)}     ${m(rows.convergeMs)}        ${m(rows.noopMs)}     ${m(rows.upMs)}      ${m(rows.composeNoopMs)}`);
  console.log(`ratio agent-apply/compose-up ${(median(rows.applyMs) / median(rows.upMs)).toFixed(2)}×, agent-noop/compose-noop ${(median(rows.noopMs) / median(rows.composeNoopMs)).toFixed(2)}×`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
