// What the benchmarks that time the agent's engine inside a systemd host share
// (bench/units-files.ts, bench/adopt-reconcile.ts): the start of the script
// node runs there — the engine, the real systemd and file drivers beside the
// container driver the benchmark names, its JSON input, the unit resources —
// and how it is run: the project bound at /opt/gitfleet, tsx as the loader,
// the input as the script's argument, the result as its last line of JSON.
import type { SystemdHost } from '../test/harness/nspawn.ts';

const containerDrivers = {
  docker: { module: 'docker/docker-container-driver.ts', name: 'DockerContainerDriver' },
  memory: { module: 'memory/containers.ts', name: 'MemoryContainerDriver' },
} as const;

/**
 * Defines `converge`, `observe`, `plan`, `input` (the JSON argument), `source`,
 * `unitResources` (from `input.units`: name and content each), `drivers` and
 * an empty `inventory`; the benchmark's own lines follow it.
 */
export function engineScriptStart(containers: keyof typeof containerDrivers): string {
  const driver = containerDrivers[containers];
  return `
const { createSystemctlUnitDriver } = await import('/opt/gitfleet/agent/drivers/systemd/index.ts');
const { createFsFileDriver } = await import('/opt/gitfleet/agent/drivers/files/fs-file-driver.ts');
const { ${driver.name} } = await import('/opt/gitfleet/agent/drivers/${driver.module}');
const { converge } = await import('/opt/gitfleet/agent/engine/converge.ts');
const { observe } = await import('/opt/gitfleet/agent/engine/observe.ts');
const { plan } = await import('/opt/gitfleet/agent/engine/planner.ts');
const input = JSON.parse(process.argv[1]);
const source = { file: 'bench.yaml', line: 1, layer: '' };
const unitResources = input.units.map((u) => ({ id: 'unit/' + u.name, kind: 'unit', name: u.name, spec: { content: u.content }, drift: 'correct', dependsOn: [], source }));
const drivers = { containers: new ${driver.name}(), units: createSystemctlUnitDriver(), files: createFsFileDriver({ rootDir: '/', allow: ['/etc'] }) };
let inventory = { version: 1, resources: {} };
`;
}

/** Runs `script` with node inside `host`; its last line of output, parsed. */
export async function runEngineScript<T>(host: SystemdHost, script: string, input: unknown): Promise<T> {
  const r = await host.exec(['node', '--import', '/opt/gitfleet/node_modules/tsx/dist/esm/index.mjs', '--input-type=module', '-e', script, JSON.stringify(input)], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`the engine script failed (${r.code}): ${r.stderr.trim()}\n${r.stdout.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}
