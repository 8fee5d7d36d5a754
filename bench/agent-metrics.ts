// What the agent's metrics cost an idle agent (docs/metrics.md): the daemon's
// RSS after it settled, on a files-only fleet (no Docker, no systemd), without
// metrics (baseline) and with both the textfile and the loopback /metrics,
// measured side by side in one run; plus the time to render and write
// gitfleet.prom once.
//   node --import tsx bench/agent-metrics.ts [--settle 8] [--runs 3]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'node:net';
import { pino } from 'pino';
import { AgentMetrics } from '../agent/metrics/agent-metrics.ts';
import { MetricsExporter } from '../agent/metrics/metrics-exporter.ts';
import type { HostStatus } from '../shared/status.ts';
import { median } from './stats.ts';

const { values } = parseArgs({ options: { settle: { type: 'string', default: '8' }, runs: { type: 'string', default: '3' } } });
const SETTLE_MS = Number(values.settle) * 1000;
const RUNS = Number(values.runs);
const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'gitfleet-agent-metrics-bench-'));

async function freePort(): Promise<number> {
  return new Promise((r) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => r(port));
    });
  });
}

function fleet(out: string): string {
  const repo = join(work, `fleet-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(repo, 'lab', 'probe-01'), { recursive: true });
  writeFileSync(join(repo, 'base.yaml'), `files:\n${Array.from({ length: 20 }, (_, i) => `  ${out}/f${i}:\n    content: "file ${i}\\n"\n`).join('')}`);
  writeFileSync(join(repo, 'lab', 'probe-01', 'host.yaml'), 'vars: {}\n');
  return repo;
}

async function idleRss(withMetrics: boolean): Promise<number> {
  const out = mkdtempSync(join(work, 'out-'));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', GITFLEET_POLICY: join(out, 'none.yaml'), GITFLEET_DOCKER_SOCKET: join(out, 'none.sock'), GITFLEET_LOG_LEVEL: 'warn' };
  if (withMetrics) {
    env.GITFLEET_METRICS_TEXTFILE_DIR = join(out, 'textfile');
    env.GITFLEET_METRICS_LISTEN = `127.0.0.1:${await freePort()}`;
  }
  // The built bundle when there is one (what a host runs), else the sources.
  const bundle = join(root, 'dist', 'gitfleet.mjs');
  const args = [...(readable(bundle) ? [bundle] : ['--import', 'tsx', join(root, 'cli', 'main.ts')]), 'agent', '--repo', fleet(out), '--host', 'probe-01', '--state-dir', join(out, 'state'), '--files-allow', out];
  const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  if (withMetrics && !readable(join(out, 'textfile', 'gitfleet.prom'))) throw new Error('the agent wrote no gitfleet.prom');
  return rss;
}

function readable(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

const without: number[] = [];
const withM: number[] = [];
for (let i = 0; i < RUNS; i++) {
  without.push(await idleRss(false));
  withM.push(await idleRss(true));
}

// One render and atomic write of the textfile, with a status of 200 resources.
const status = {
  resources: Array.from({ length: 200 }, (_, i) => ({ id: `file/f${i}`, sync: i % 10 === 0 ? 'Drifted' : 'InSync', health: 'Healthy', diff: [] })),
  attempts: [{ trigger: 'poll', revision: 'a'.repeat(40), startedAt: new Date().toISOString(), durationMs: 30, result: 'Succeeded', intended: [], driftCorrected: ['x'] }],
  lastAppliedRevision: 'a'.repeat(40),
} as unknown as HostStatus;
const metrics = new AgentMetrics('probe-01');
const exporter = new MetricsExporter(metrics, { textfileDir: join(work, 'textfile') }, pino({ level: 'silent' }));
const writes: number[] = [];
for (let i = 0; i < 50; i++) {
  const t = performance.now();
  metrics.observe('poll', { result: 'NoChange', converged: true, revision: 'a'.repeat(40) }, 12, status);
  await exporter.publish();
  writes.push(performance.now() - t);
}
rmSync(work, { recursive: true, force: true });

const mib = (x: number) => `${x.toFixed(1)} MiB`;
process.stdout.write(
  [
    `idle agent daemon, files-only fleet, RSS after ${SETTLE_MS / 1000} s, median of ${RUNS}`,
    `  without metrics (baseline)                       ${mib(median(without))}`,
    `  with metrics.textfileDir and metrics.listen      ${mib(median(withM))}   (${median(withM) >= median(without) ? '+' : ''}${mib(median(withM) - median(without))})`,
    `gitfleet.prom: observe + render + atomic write (fsync), median of ${writes.length}: ${median(writes).toFixed(2)} ms`,
    '',
  ].join('\n'),
);
