// Load benchmark of the hub (issue 6): a load generator in its own process
// (hub-load-agents.ts) simulates N agents (default 10,000) over real sockets
// against one hub in its own process, and, side by side in the same run,
// against a bare WebSocket server that does the least possible (the floor).
//   node --import tsx bench/hub-load.ts [N] [ingestSeconds]
// Prints: connect+enroll time, status ingest (acked msgs/s), hub RSS, API
// p50/p99 for the summary and a filtered hosts page, webhook → all notified.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { genericWebhookHeaders } from '../hub/webhook/verify-webhook.ts';

const root = resolve(import.meta.dirname, '..');
const N = Number(process.argv[2] ?? 10_000);
const INGEST_S = Number(process.argv[3] ?? 10);
const ADMIN = 'bench-admin-token-0123456789';
const ENROLL = 'bench-enroll-token-0123456789';
const SECRET = 'bench-webhook-secret-0123456789';
// Raise the soft fd limit to the hard one (raising the hard one needs privileges a container may lack).
const hardNofile = execFileSync('prlimit', ['--nofile', '--output', 'HARD', '--noheadings', '--raw'], { encoding: 'utf8' }).trim();
const NOFILE = `--nofile=${hardNofile}:${hardNofile}`;

function node(args: string[], env: Record<string, string> = {}, ipc = false): ChildProcess {
  // prlimit raises the fd limit for 10,000 sockets without a shell.
  return spawn('prlimit', [NOFILE, process.execPath, '--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m![1]) / 1024);
}

function waitLine(proc: ChildProcess, match: (line: string) => string | null): Promise<string> {
  return new Promise((res, rej) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      const v = match(line);
      if (v !== null) res(v);
    });
    proc.once('exit', (code) => rej(new Error(`process exited with ${code}`)));
  });
}

class Generator {
  readonly proc = node(['bench/hub-load-agents.ts'], {}, true);
  #waiters: Array<(m: Record<string, unknown>) => boolean> = [];
  constructor() {
    this.proc.on('message', (m: Record<string, unknown>) => {
      if (m.error) throw new Error(`generator: ${String(m.error)}`);
      this.#waiters = this.#waiters.filter((w) => !w(m));
    });
  }
  next<K extends string>(key: K): Promise<Record<string, unknown>> {
    return new Promise((res) => this.#waiters.push((m) => (key in m ? (res(m), true) : false)));
  }
  async ask<K extends string>(cmd: Record<string, unknown>, key: K) {
    const p = this.next(key);
    this.proc.send(cmd);
    return p;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function latency(url: string, token: string, count = 300) {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

interface Result {
  connectMs: number;
  ingestPerSecond: number;
  rssMiB: number;
  summary: { p50: number; p99: number };
  hostsPage: { p50: number; p99: number } | null;
  webhookMs: number;
}

async function run(kind: 'hub' | 'bare'): Promise<Result> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gitfleet-bench-hub-'));
  let server: ChildProcess;
  let port: number;
  if (kind === 'hub') {
    const listenPort = 18000 + Math.floor(Math.random() * 2000);
    server = node([...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/hubprof'] : []), 'cli/main.ts', 'hub'], {
      GITFLEET_HUB_LISTEN: `127.0.0.1:${listenPort}`,
      GITFLEET_HUB_DATA_DIR: dataDir,
      GITFLEET_HUB_ENROLLMENT_TOKEN: ENROLL,
      GITFLEET_HUB_ADMIN_TOKEN: ADMIN,
      GITFLEET_HUB_WEBHOOK_SECRET: SECRET,
      GITFLEET_HUB_LOG_LEVEL: 'info',
      // The whole simulated fleet enrolls at once from one loopback address: lift the enrollment throttle.
      GITFLEET_HUB_ENROLL_RATE_PER_ADDRESS: '1000000',
      GITFLEET_HUB_ENROLL_RATE_PER_TOKEN: '1000000',
    });
    await waitLine(server, (l) => (l.includes('"hub listening"') ? l : null));
    port = listenPort;
  } else {
    server = node(['bench/hub-bare-server.ts', '0']);
    port = Number(await waitLine(server, (l) => /^listening (\d+)/.exec(l)?.[1] ?? null));
  }
  const base = `http://127.0.0.1:${port}`;
  const gen = new Generator();
  await gen.next('ready');
  try {
    const connected = await gen.ask({ cmd: 'connect', url: `ws://127.0.0.1:${port}/agent`, n: N, token: ENROLL }, 'connected');
    const ingest = (await gen.ask({ cmd: 'ingest', seconds: INGEST_S }, 'ingest')).ingest as { perSecond: number; drainMs: number };
    console.log(`${kind}: ${Math.round(ingest.perSecond)} statuses/s acked; in-flight backlog drained in ${Math.round(ingest.drainMs)} ms`);
    const rss = rssMiB(server.pid!);
    const summary = await latency(`${base}/api/v1/summary`, ADMIN);
    const hostsPage = kind === 'hub' ? await latency(`${base}/api/v1/hosts?tag=site-3&state=Drifted,InSync&sort=sync&limit=50`, ADMIN) : null;
    await gen.ask({ cmd: 'arm' }, 'armed');
    const all = gen.next('allReconciled');
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const sent = Date.now();
    const res = await fetch(`${base}/api/v1/hooks/git`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...genericWebhookHeaders(SECRET, body) },
      body,
    });
    if (!res.ok) throw new Error(`webhook: ${res.status}`);
    const done = (await all).allReconciled as number;
    return { connectMs: connected.ms as number, ingestPerSecond: ingest.perSecond, rssMiB: rss, summary, hostsPage, webhookMs: done - sent };
  } finally {
    gen.proc.send({ cmd: 'exit' });
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toString() : n.toFixed(1));
const hub = await run('hub');
const bare = await run('bare');
const rows: Array<[string, string, string, string, string]> = [
  ['connect + enroll all', `${fmt(hub.connectMs)} ms`, `${fmt(bare.connectMs)} ms`, `${(hub.connectMs / bare.connectMs).toFixed(2)}x`, '-'],
  ['status ingest (acked)', `${fmt(hub.ingestPerSecond)} msg/s`, `${fmt(bare.ingestPerSecond)} msg/s`, `${(hub.ingestPerSecond / bare.ingestPerSecond).toFixed(2)}x`, '>= 5000 msg/s'],
  ['server RSS', `${hub.rssMiB} MiB`, `${bare.rssMiB} MiB`, `${(hub.rssMiB / bare.rssMiB).toFixed(2)}x`, '<= 1024 MiB'],
  ['summary p50 / p99', `${fmt(hub.summary.p50)} / ${fmt(hub.summary.p99)} ms`, `${fmt(bare.summary.p50)} / ${fmt(bare.summary.p99)} ms`, `${(hub.summary.p99 / bare.summary.p99).toFixed(1)}x p99`, 'p99 <= 100 ms'],
  ['filtered hosts page p50 / p99', `${fmt(hub.hostsPage!.p50)} / ${fmt(hub.hostsPage!.p99)} ms`, '-', '-', '-'],
  ['webhook -> all notified', `${fmt(hub.webhookMs)} ms`, `${fmt(bare.webhookMs)} ms`, `${(hub.webhookMs / Math.max(1, bare.webhookMs)).toFixed(2)}x`, '<= 2000 ms'],
];
console.log(`\nhub load benchmark: ${N} agents, ${INGEST_S} s ingest (baseline: bare ws server, same generator, same run)\n`);
const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['measure', 'hub', 'baseline', 'ratio', 'goal'][i]!.length));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(line(['measure', 'hub', 'baseline', 'ratio', 'goal']));
for (const r of rows) console.log(line(r));
const ok = hub.ingestPerSecond >= 5000 && hub.rssMiB <= 1024 && hub.summary.p99 <= 100 && hub.webhookMs <= 2000;
console.log(`\ngoals ${ok ? 'met' : 'NOT met'}`);
