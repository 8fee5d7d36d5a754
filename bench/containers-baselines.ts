// Baselines for converging N containers on the real engine, measured side by
// side so the agent's converge can be put next to them (bench/ of the engine
// imports measureApiFloor / measureCompose):
//   (a) the floor: raw Engine API create+start of all N in parallel (dockerode);
//   (b) docker-compose 1.29 `up -d` of the same N from nothing, then a no-op `up -d`.
// Containers: local/busybox:1, `sleep 3600`, init, network none, a run label;
// everything is removed between runs (cleanup is not timed).
//   node --import tsx bench/containers-baselines.ts [--runs 3] [--sizes 10,50]
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { median } from './stats.ts';

const run = promisify(execFile);
const IMAGE = 'local/busybox:1';
const BENCH_LABEL = 'io.gitfleet.bench';

function newRunId(): string {
  return `b${randomBytes(4).toString('hex')}`;
}

export async function removeBenchContainers(docker: Dockerode, runId: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${BENCH_LABEL}=${runId}`] }) });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
}

/** Wall ms to create and start `n` containers in parallel through the Engine API. */
export async function measureApiFloor(n: number, docker = new Dockerode()): Promise<number> {
  const runId = newRunId();
  try {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const container = await docker.createContainer({
          name: `gfbench-${runId}-${i}`,
          Image: IMAGE,
          Cmd: ['sleep', '3600'],
          Labels: { [BENCH_LABEL]: runId },
          HostConfig: { Init: true, NetworkMode: 'none' },
        });
        await container.start();
      }),
    );
    return performance.now() - started;
  } finally {
    await removeBenchContainers(docker, runId);
  }
}

export function composeFile(n: number, runId: string): string {
  const services = Array.from({ length: n }, (_, i) => [
    `  s${i}:`,
    `    image: ${IMAGE}`,
    `    command: ["sleep", "3600"]`,
    `    init: true`,
    `    network_mode: none`,
    `    labels:`,
    `      ${BENCH_LABEL}: "${runId}"`,
  ].join('\n'));
  return `version: "2.4"\nservices:\n${services.join('\n')}\n`;
}

/** Wall ms of `docker-compose up -d` from nothing, and of a second, no-op `up -d`. */
export async function measureCompose(n: number, docker = new Dockerode()): Promise<{ upMs: number; noopMs: number }> {
  const runId = newRunId();
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-bench-compose-'));
  const file = join(dir, 'docker-compose.yml');
  writeFileSync(file, composeFile(n, runId));
  const args = ['-p', `gfbench${runId}`, '-f', file, 'up', '-d'];
  try {
    let started = performance.now();
    await run('docker-compose', args, { maxBuffer: 16 << 20 });
    const upMs = performance.now() - started;
    started = performance.now();
    await run('docker-compose', args, { maxBuffer: 16 << 20 });
    const noopMs = performance.now() - started;
    return { upMs, noopMs };
  } finally {
    await removeBenchContainers(docker, runId);
    rmSync(dir, { recursive: true, force: true });
  }
}


export interface BaselineRow {
  n: number;
  apiFloorMs: number;
  composeUpMs: number;
  composeNoopMs: number;
}

/** Medians over `runs` interleaved runs of each baseline for each size. */
export async function measureBaselines(sizes: number[], runs: number): Promise<BaselineRow[]> {
  const docker = new Dockerode();
  const rows: BaselineRow[] = [];
  for (const n of sizes) {
    const floor: number[] = [];
    const up: number[] = [];
    const noop: number[] = [];
    for (let r = 0; r < runs; r++) {
      floor.push(await measureApiFloor(n, docker));
      const compose = await measureCompose(n, docker);
      up.push(compose.upMs);
      noop.push(compose.noopMs);
    }
    rows.push({ n, apiFloorMs: median(floor), composeUpMs: median(up), composeNoopMs: median(noop) });
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, sizes: { type: 'string', default: '10,50' } } });
  const runs = Number(values.runs);
  const sizes = values.sizes.split(',').map(Number);
  const rows = await measureBaselines(sizes, runs);
  console.log(`container baselines, medians of ${runs} runs (ms)`);
  console.log('N    api-floor  compose-up  compose/floor  compose-noop');
  for (const r of rows) {
    console.log(`${String(r.n).padEnd(4)} ${r.apiFloorMs.toFixed(0).padStart(9)}  ${r.composeUpMs.toFixed(0).padStart(10)}  ${(r.composeUpMs / r.apiFloorMs).toFixed(2).padStart(12)}×  ${r.composeNoopMs.toFixed(0).padStart(12)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

