// The Debian-style unit corpus (test/fixtures/debian-units) on a real systemd
// host: the agent's converge from nothing and its no-op, side by side with the
// systemctl floor measured in the same run. Run:
//   node --import tsx bench/units-corpus.ts [--runs N]
// Interleaved per run (medians printed):
//   floor          the corpus files written, one daemon-reload, one `enable` of the installable units, one `start` of those that run
//   agent          converge() with the real unit driver from nothing (observe, plan, write, reload, enable, start, health settle 0)
//   observe floor  one `systemctl show` of every corpus unit (what a no-op cannot do without)
//   agent no-op    converge() again on the converged host
// Both the floor and the agent run their commands through the same nsenter seam (SystemdHost.exec).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { converge } from '../agent/engine/converge.ts';
import { emptyInventory } from '../agent/engine/model.ts';
import { MemoryContainerDriver } from '../agent/drivers/memory/containers.ts';
import { MemoryFileDriver } from '../agent/drivers/memory/files.ts';
import { createSystemctlUnitDriver } from '../agent/drivers/systemd/index.ts';
import { unitMarker } from '../agent/engine/plan-units.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../test/harness/nspawn.ts';
import { corpusKinds, corpusResources, expectedActive } from '../test/fixtures/debian-units/corpus.ts';
import { desired } from '../test/helpers/desired.ts';
import { median } from './stats.ts';

const resources = corpusResources();
const names = resources.map((r) => r.name);
const concrete = names.filter((n) => !/@\.[a-z]+$/.test(n));

async function mustExec(host: SystemdHost, argv: string[]): Promise<string> {
  const r = await host.exec(argv, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Back to nothing, untimed: every corpus unit stopped, disabled, deleted; systemd reloaded. */
async function reset(host: SystemdHost): Promise<void> {
  await host.exec(['systemctl', 'disable', '--now', ...concrete]);
  await host.exec(['systemctl', 'stop', 'gf-echo.socket', 'gf-print.socket', 'gf-print.path']);
  for (const n of names) {
    rmSync(join(host.rootDir, 'etc/systemd/system', n), { force: true });
    rmSync(join(host.rootDir, 'etc/systemd/system', `${n}.d`), { recursive: true, force: true });
  }
  await mustExec(host, ['systemctl', 'daemon-reload']);
  await host.exec(['systemctl', 'reset-failed']);
}

async function floor(host: SystemdHost): Promise<number> {
  await reset(host);
  const started = performance.now();
  for (const r of resources) if (r.spec.content !== undefined) writeFileSync(join(host.rootDir, 'etc/systemd/system', r.name), unitMarker(r.id) + r.spec.content);
  await mustExec(host, ['systemctl', 'daemon-reload']);
  const installable = resources.filter((r) => (r.spec.content !== undefined && /^\[Install\]/m.test(r.spec.content) && !/@\.[a-z]+$/.test(r.name)) || r.spec.enabled === true).map((r) => r.name);
  await mustExec(host, ['systemctl', 'enable', '--', ...installable]);
  await mustExec(host, ['systemctl', 'start', '--', ...Object.entries(expectedActive).filter(([, s]) => s === 'active').map(([n]) => n), 'gf-needs-config.service']);
  return performance.now() - started;
}

async function agent(host: SystemdHost): Promise<{ converge: number; noop: number }> {
  await reset(host);
  const drivers = {
    units: createSystemctlUnitDriver({ unitDir: join(host.rootDir, 'etc/systemd/system'), run: (argv) => host.exec(argv) }),
    containers: new MemoryContainerDriver({ images: [] }),
    files: new MemoryFileDriver({ allow: ['/srv'] }),
  };
  const state = desired(resources);
  const options = { revision: 'bench', saveInventory: async () => undefined };
  let started = performance.now();
  const first = await converge(drivers, state, emptyInventory(), options);
  const convergeMs = performance.now() - started;
  if (!first.converged || first.failures.length > 0) throw new Error(`corpus did not converge: ${JSON.stringify(first.failures)}`);
  started = performance.now();
  const second = await converge(drivers, state, first.inventory, options);
  const noopMs = performance.now() - started;
  if (second.passes !== 0) throw new Error(`the second converge was not a no-op: ${second.intended.join(', ')}`);
  return { converge: convergeMs, noop: noopMs };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  const why = systemdHostsAvailable();
  if (why) throw new Error(`cannot boot a systemd host: ${why}`);
  const host = await bootHost(`gf-bench-corpus-${process.pid}`, { bindProject: false, bindDocker: false });
  try {
    const f: number[] = [];
    const a: number[] = [];
    const n: number[] = [];
    const o: number[] = [];
    for (let i = 0; i < runs; i++) {
      f.push(await floor(host));
      const r = await agent(host);
      a.push(r.converge);
      n.push(r.noop);
      const started = performance.now();
      await mustExec(host, ['systemctl', 'show', '-p', 'Id,LoadState,UnitFileState,ActiveState', '--', ...concrete]);
      o.push(performance.now() - started);
    }
    const kinds = corpusKinds(resources);
    process.stdout.write(`corpus: ${resources.length} units — ${Object.entries(kinds).map(([k, c]) => `${c} ${k}`).join(', ')}\n`);
    process.stdout.write(`runs: ${runs} (medians)\n`);
    const row = (label: string, ms: number, extra = '') => process.stdout.write(`${label.padEnd(16)}${ms.toFixed(0).padStart(7)} ms${extra}\n`);
    row('floor', median(f));
    row('agent converge', median(a), `   ${(median(a) / median(f)).toFixed(2)}× the floor`);
    row('observe floor', median(o));
    row('agent no-op', median(n), `   ${(median(n) / median(o)).toFixed(2)}× one systemctl show`);
  } finally {
    await host.poweroff();
  }
}

await main();
