// Adoption time (issue 20's closing note): a host with 30 containers and 20
// units made by hand (`docker run`, unit files + `systemctl enable --now`),
// taken over by the agent with adoption on, beside the same host converged by
// the agent from nothing, interleaved in one run. Run:
//   node --import tsx bench/adopt-reconcile.ts [--runs N]
// (bench/adopt.ts times the `gitfleet adopt` command that writes the fleet directory.)
// Real components: a private dockerd (test/harness/private-dockerd.ts) bound
// into one nspawn systemd host (test/harness/nspawn.ts) as its Docker socket;
// the agent's engine runs inside the host with its real drivers. After every
// adoption it proves nothing restarted: every container id and every unit's
// MainPID are the ones the hand-built host had.
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../test/harness/nspawn.ts';
import { PrivateDockerd } from '../test/harness/private-dockerd.ts';
import { TEST_IMAGE } from '../test/harness/docker.ts';
import { median } from './stats.ts';
import { engineScriptStart, runEngineScript } from './in-host-engine.ts';

const run = promisify(execFile);
const CONTAINERS = 30;
const UNITS = 20;
const containerNames = Array.from({ length: CONTAINERS }, (_, i) => `gf-adopt-c${i + 1}`);
const unitNames = Array.from({ length: UNITS }, (_, i) => `gf-adopt-${i + 1}.service`);
const unitText = (i: number) => `[Unit]\nDescription=gitfleet adopt bench ${i}\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n`;

async function mustExec(host: SystemdHost, argv: string[]): Promise<string> {
  const r = await host.exec(argv, { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}\n${r.stdout.slice(-2000)}`);
  return r.stdout;
}

async function docker(socket: string, args: string[]): Promise<string> {
  return (await run('docker', ['-H', `unix://${socket}`, ...args], { maxBuffer: 16 << 20 })).stdout;
}

async function reset(host: SystemdHost, socket: string): Promise<void> {
  const ids = (await docker(socket, ['ps', '-aq'])).split('\n').filter(Boolean);
  if (ids.length > 0) await docker(socket, ['rm', '-f', ...ids]);
  await host.exec(['systemctl', 'disable', '--now', ...unitNames]);
  await mustExec(host, ['sh', '-c', 'rm -rf /etc/systemd/system/gf-adopt-*.service /var/lib/gf-adopt-state && systemctl daemon-reload && systemctl reset-failed || true']);
}

/** The host as an operator built it: `docker run` per container, unit files, one daemon-reload, `enable --now`. */
async function buildByHand(host: SystemdHost, socket: string): Promise<void> {
  const queue = [...containerNames.entries()];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [i, name] = next;
      await docker(socket, ['run', '-d', '--name', name, '--network', 'none', '--init', '-e', `SLOT=${i + 1}`, '--label', 'team=bench', TEST_IMAGE, 'sleep', '3600']);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  const script = ['set -e', ...unitNames.map((n, i) => `printf '%s' '${unitText(i + 1)}' > /etc/systemd/system/${n}`), 'systemctl daemon-reload', `systemctl enable --now ${unitNames.join(' ')} 2>/dev/null`].join('\n');
  await mustExec(host, ['sh', '-c', script]);
}

async function proof(host: SystemdHost, socket: string): Promise<{ ids: Record<string, string>; pids: Record<string, string> }> {
  const lines = (await docker(socket, ['ps', '-a', '--no-trunc', '--format', '{{.Names}} {{.ID}}'])).split('\n').filter(Boolean);
  const ids = Object.fromEntries(lines.map((l) => l.split(' ') as [string, string]));
  const out = await mustExec(host, ['systemctl', 'show', '-p', 'Id,MainPID', ...unitNames]);
  const pids: Record<string, string> = {};
  for (const block of out.trim().split('\n\n')) {
    const fields = Object.fromEntries(block.split('\n').map((l) => l.split('=', 2) as [string, string]));
    if (fields.Id) pids[fields.Id] = fields.MainPID ?? '';
  }
  return { ids, pids };
}

// The agent's engine inside the host with its real drivers; timed inside the process.
const agentScript = `${engineScriptStart('docker')}
const resources = [
  ...unitResources,
  ...input.containers.map((c, i) => ({ id: 'container/' + c, kind: 'container', name: c, drift: 'correct', dependsOn: [], source,
    spec: { image: input.image, command: ['sleep', '3600'], network_mode: 'none', init: true, environment: { SLOT: String(i + 1) }, labels: { team: 'bench' } } })),
];
const desired = { host: 'bench', place: 'bench', tags: [], vars: {}, layers: [''], resources, allowEmpty: false, adopt: input.adopt };
const t0 = performance.now();
const result = await converge(drivers, desired, inventory, { revision: 'r1', saveInventory: async (inv) => { inventory = inv; } });
const ms = performance.now() - t0;
if (!result.converged) throw new Error('not converged: ' + JSON.stringify(result.statuses.filter((s) => s.sync !== 'InSync')));
const live = await observe(drivers, desired, inventory);
const after = plan(desired, live, inventory, { revision: 'r1', suppressed: new Map(), defaultStopTimeout: 10, adopt: input.adopt });
console.log(JSON.stringify({ ms, adopted: result.adopted.length, steps: result.intended.length + result.driftCorrected.length, replaced: result.statuses.filter((s) => s.adoption === 'Replace').map((s) => s.id), planSteps: after.steps.length }));
`;

interface AgentRun {
  ms: number;
  adopted: number;
  steps: number;
  replaced: string[];
  planSteps: number;
}

async function agent(host: SystemdHost, adopt: boolean): Promise<AgentRun> {
  const input = { adopt, image: TEST_IMAGE, containers: containerNames, units: unitNames.map((name, i) => ({ name, content: unitText(i + 1) })) };
  return runEngineScript<AgentRun>(host, agentScript, input);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
  const runs = Number(values.runs);
  const missing = systemdHostsAvailable();
  if (missing) throw new Error(`cannot boot a systemd host: ${missing}`);
  const dockerd = new PrivateDockerd();
  await dockerd.start();
  let host: SystemdHost | null = null;
  try {
    await dockerd.copyImage(TEST_IMAGE);
    host = await bootHost(`gf-adopt-bench-${process.pid % 100000}`, { bindDocker: false, binds: [{ host: dockerd.socket, guest: '/var/run/docker.sock' }] });
    const scratch: number[] = [];
    const adoption: number[] = [];
    let lastProof = '';
    for (let i = 0; i <= runs; i++) {
      // Run 0 warms up (module load caches, systemd's first loads) and is not counted.
      await reset(host, dockerd.socket);
      const fromNothing = await agent(host, false);
      if (fromNothing.steps === 0) throw new Error('the converge from nothing did nothing');
      await reset(host, dockerd.socket);
      await buildByHand(host, dockerd.socket);
      const before = await proof(host, dockerd.socket);
      const adopted = await agent(host, true);
      const after = await proof(host, dockerd.socket);
      const sameIds = containerNames.filter((n) => before.ids[n] !== undefined && before.ids[n] === after.ids[n]).length;
      const samePids = unitNames.filter((n) => Number(before.pids[n]) > 0 && before.pids[n] === after.pids[n]).length;
      if (adopted.replaced.length > 0) throw new Error(`adoption replaced ${adopted.replaced.join(', ')}: the hand-made containers did not match`);
      if (sameIds !== CONTAINERS || samePids !== UNITS || adopted.steps !== 0 || adopted.planSteps !== 0) {
        throw new Error(`adoption changed the host: ${sameIds}/${CONTAINERS} ids and ${samePids}/${UNITS} MainPIDs kept, ${adopted.steps} steps, ${adopted.planSteps} planned after`);
      }
      lastProof =
        `  ${sameIds}/${CONTAINERS} container ids unchanged (e.g. ${containerNames[0]} ${after.ids[containerNames[0]!]!.slice(0, 12)}, ${containerNames[CONTAINERS - 1]} ${after.ids[containerNames[CONTAINERS - 1]!]!.slice(0, 12)}), ` +
        `${samePids}/${UNITS} unit MainPIDs unchanged (e.g. ${unitNames[0]} ${after.pids[unitNames[0]!]}, ${unitNames[UNITS - 1]} ${after.pids[unitNames[UNITS - 1]!]}); ` +
        `${adopted.adopted} resources adopted, 0 steps run, 0 steps planned after`;
      if (i === 0) continue;
      scratch.push(fromNothing.ms);
      adoption.push(adopted.ms);
    }
    const s = median(scratch);
    const a = median(adoption);
    const line = (label: string, ms: number, extra = '') => console.log(`${label.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms${extra}`);
    console.log(`${CONTAINERS} containers + ${UNITS} units on one nspawn systemd host with a private dockerd, medians of ${runs} interleaved runs`);
    line('baseline: the agent converges it from nothing', s);
    line('adoption: the agent takes the hand-built host', a, `   ${(s / a).toFixed(1)}× faster, nothing restarted`);
    console.log(`proof (last run):\n${lastProof}`);
  } finally {
    await host?.poweroff().catch(() => undefined);
    await dockerd.dispose().catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
