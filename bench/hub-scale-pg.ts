// Scale benchmark of the hub cluster (issue 22): R hub replicas (default 6)
// on one PostgreSQL (a private cluster on this machine, fsync on), A simulated
// agents (default 100,000) spread over them by R generator processes
// (bench/hub-scale-agents.ts; a process here may hold at most 20,000 open
// files), and, in the same run, S agents (default 10,000) on one SQLite hub,
// so the cost of the cluster is visible. Prints per replica RSS, how long
// every agent's first report takes to be acked (all at once, as after
// connecting), steady ingest (acked and written per second, ack p50/p99, CPU
// per 1,000 statuses of hubs, generators and PostgreSQL), the fleet summary's
// p50/p99 on every replica, how long a change takes to show on all replicas
// (p50/p99), and webhook → every agent notified. Ingest is measured only
// after a first round (every agent acked once): until then each agent's
// status waits behind every other agent's, and a window shorter than that
// round counts no ack at all (what a 10 s window showed at 20,000 agents).
//   node --import tsx bench/hub-scale-pg.ts [replicas] [agents] [sqliteAgents] [ingestSeconds]
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { genericWebhookHeaders } from '../hub/webhook/verify-webhook.ts';
import { startPostgres } from '../test/harness/postgres.ts';
import { postgresCpuMs, processCpuMs } from './cpu-time.ts';

const root = resolve(import.meta.dirname, '..');
const REPLICAS = Number(process.argv[2] ?? 6);
const AGENTS = Number(process.argv[3] ?? 100_000);
const SQLITE_AGENTS = Number(process.argv[4] ?? 10_000);
const INGEST_S = Number(process.argv[5] ?? 10);
const CHANGE_SAMPLES = 40;
const ADMIN = 'bench-admin-token-0123456789';
const ENROLL = 'bench-enroll-token-0123456789';
const SECRET = 'bench-webhook-secret-0123456789';
const hardNofile = execFileSync('prlimit', ['--nofile', '--output', 'HARD', '--noheadings', '--raw'], { encoding: 'utf8' }).trim();
const NOFILE = `--nofile=${hardNofile}:${hardNofile}`;

/** GITFLEET_BENCH_HUB_NODE_FLAGS: more node/V8 flags for the hubs only (e.g. to compare heap settings). */
const hubNodeFlags = (process.env.GITFLEET_BENCH_HUB_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');

function node(args: string[], env: Record<string, string> = {}, ipc = false, flags: string[] = []): ChildProcess {
  return spawn('prlimit', [NOFILE, process.execPath, '--max-old-space-size=4096', ...flags, '--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  });
}

/** Heap in use (live and not yet collected) and external memory (Buffers, ArrayBuffers) of a hub, from its /metrics, MiB. */
async function heapMiB(h: Hub): Promise<{ heap: number; external: number }> {
  const res = await fetch(`${h.base}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const text = await res.text();
  const mib = (re: RegExp) => Math.round(Number(re.exec(text)?.[1] ?? Number.NaN) / 1024 / 1024);
  return { heap: mib(/^nodejs_heap_size_used_bytes (\S+)/m), external: mib(/^nodejs_external_memory_bytes (\S+)/m) };
}

/**
 * GITFLEET_BENCH_HEAP_SNAPSHOTS=DIR: every hub writes a V8 heap snapshot into DIR when the RSS is read
 * (one after the other: a snapshot stops the hub and takes about its heap's size again in memory).
 */
const snapshotDir = process.env.GITFLEET_BENCH_HEAP_SNAPSHOTS;
const hubNodeOptions: Record<string, string> = snapshotDir ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshotDir}`.trim() } : {};

async function heapSnapshots(hubs: Hub[]): Promise<void> {
  if (!snapshotDir) return;
  mkdirSync(snapshotDir, { recursive: true });
  for (const h of hubs) {
    h.proc.kill('SIGUSR2');
    await sleep(500);
    // The snapshot is written on the hub's main thread: it answers again once the file is complete.
    await get(`${h.base}/api/v1/summary`);
    console.log(`heap snapshot of the hub on port ${h.port}${h.leads ? ' (leader)' : ''} (pid ${h.proc.pid}) written to ${snapshotDir}`);
  }
}

const statusMiB = (pid: number, field: 'VmRSS' | 'VmHWM') => Math.round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024);
const rssMiB = (pid: number) => statusMiB(pid, 'VmRSS');
/** The most a process has held resident since it started (the kernel's high-water mark). */
const peakRssMiB = (pid: number) => statusMiB(pid, 'VmHWM');
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const warnings = new Map<string, number>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Generator {
  readonly proc = node(['bench/hub-scale-agents.ts'], {}, true);
  #waiters: Array<(m: Record<string, unknown>) => boolean> = [];
  constructor() {
    this.proc.on('message', (m: Record<string, unknown>) => {
      if (m.error) throw new Error(`generator: ${String(m.error)}`);
      this.#waiters = this.#waiters.filter((w) => !w(m));
    });
  }
  next(key: string): Promise<Record<string, unknown>> {
    return new Promise((res) => this.#waiters.push((m) => (key in m ? (res(m), true) : false)));
  }
  ask(cmd: Record<string, unknown>, key: string) {
    const p = this.next(key);
    this.proc.send(cmd);
    return p;
  }
}

interface Hub {
  proc: ChildProcess;
  base: string;
  port: number;
  /** Logged "this replica leads" (and has not lost it since). */
  leads: boolean;
}

async function startHub(env: Record<string, string>): Promise<Hub> {
  const port = 20000 + Math.floor(Math.random() * 9000);
  const proc = node(['cli/main.ts', 'hub'], {
    GITFLEET_HUB_LISTEN: `127.0.0.1:${port}`,
    GITFLEET_HUB_ENROLLMENT_TOKEN: ENROLL,
    GITFLEET_HUB_ADMIN_TOKEN: ADMIN,
    GITFLEET_HUB_WEBHOOK_SECRET: SECRET,
    GITFLEET_HUB_LOG_LEVEL: 'info',
    GITFLEET_HUB_HEARTBEAT: '30s',
    GITFLEET_HUB_ENROLL_RATE_PER_ADDRESS: '1000000',
    GITFLEET_HUB_ENROLL_RATE_PER_TOKEN: '1000000',
    ...hubNodeOptions,
    ...env,
  }, false, hubNodeFlags);
  const hub: Hub = { proc, base: `http://127.0.0.1:${port}`, port, leads: false };
  await new Promise<void>((res, rej) => {
    // Every line is read (the hub logs each enrollment at info): a full pipe would stall the hub.
    // GITFLEET_BENCH_HUB_LOGS=DIR keeps every hub's log (warnings name causes the counts below do not).
    const logDir = process.env.GITFLEET_BENCH_HUB_LOGS;
    if (logDir) mkdirSync(logDir, { recursive: true });
    const logFile = logDir ? join(logDir, `hub-${port}.log`) : null;
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      if (logFile) appendFileSync(logFile, l + '\n');
      if (l.includes('"this replica leads')) hub.leads = true;
      else if (l.includes('"lost the leader lock')) hub.leads = false;
      if (l.includes('"hub listening"')) res();
      // Warnings and errors are counted by message and printed at the end: they explain slow numbers.
      const m = /"level":(\d+).*"msg":"([^"]*)"/.exec(l);
      // A warning's cause (its err.message) is counted with it: "heartbeat failed" under load is a slow statement or a connection not opened in time.
      const cause = /"err":\{[^}]*"message":"([^"]{0,120})/.exec(l)?.[1];
      const key = m ? (cause ? `${m[2]!}: ${cause}` : m[2]!) : '';
      if (m && Number(m[1]) >= 40) warnings.set(key, (warnings.get(key) ?? 0) + 1);
      else if (m && /stopped beating|recorded again/.test(m[2]!)) warnings.set(key, (warnings.get(key) ?? 0) + 1);
    });
    proc.once('exit', (code) => rej(new Error(`hub exited with ${code}`)));
  });
  return hub;
}

async function get<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** Statuses the replicas received and did not coalesce away, i.e. wrote (their /metrics counters, summed). */
async function storedStatuses(hubs: Hub[]): Promise<number> {
  const counts = await Promise.all(
    hubs.map(async (h) => {
      const res = await fetch(`${h.base}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const text = await res.text();
      const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
      return value(/^gitfleet_hub_agent_messages_total\{type="status"\} (\d+)/m) - value(/^gitfleet_hub_agent_statuses_coalesced_total (\d+)/m);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function summaryLatency(base: string, count = 100) {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await get(`${base}/api/v1/summary`);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function webhookToAll(hubs: Hub[], gens: Generator[]): Promise<number> {
  await Promise.all(gens.map((g) => g.ask({ cmd: 'arm' }, 'armed')));
  const all = Promise.all(gens.map((g) => g.next('allReconciled')));
  const body = JSON.stringify({ ref: 'refs/heads/main' });
  const sent = Date.now();
  const res = await fetch(`${hubs[0]!.base}/api/v1/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', ...genericWebhookHeaders(SECRET, body) }, body });
  if (!res.ok) throw new Error(`webhook: ${res.status}`);
  const done = await Promise.race([all.then((ms) => Math.max(...ms.map((m) => m.allReconciled as number))), sleep(180_000).then(() => Number.NaN)]);
  return done - sent;
}

interface Burst {
  sent: number;
  acked: number;
  /** Agent connections closed by then (a hub refuses a write it could not store: the agent would resend it). */
  closed: number;
  ms: number;
  firstAckMs: number;
  p50: number;
  p99: number;
}

/** Every agent's first status at once (the generators' bursts, merged: the slowest decides). */
async function firstReports(gens: Generator[]): Promise<Burst> {
  const all = (await Promise.all(gens.map((g) => g.ask({ cmd: 'burst' }, 'burst')))).map((m) => m.burst as Burst);
  return {
    sent: all.reduce((n, b) => n + b.sent, 0),
    acked: all.reduce((n, b) => n + b.acked, 0),
    closed: all.reduce((n, b) => n + b.closed, 0),
    ms: Math.max(...all.map((b) => b.ms)),
    firstAckMs: Math.min(...all.map((b) => b.firstAckMs)),
    p50: Math.max(...all.map((b) => b.p50)),
    p99: Math.max(...all.map((b) => b.p99)),
  };
}

interface Ingest {
  /** How long every agent's first status of the steady ingest took to be acked (measuring starts after it). */
  roundMs: number;
  ackedPerSecond: number;
  /** Statuses the hubs wrote per second in the same window (their counters). */
  storedPerSecond: number;
  ackP50: number;
  ackP99: number;
  /** CPU ms per 1,000 statuses written, in the window: hubs, generators, PostgreSQL (0 without). */
  cpu: { hubs: number; generators: number; database: number };
}

/**
 * Every agent keeps 2 statuses in flight; after a first round (each agent
 * acked once), acks and writes are counted for INGEST_S seconds, with the CPU
 * time every process of the run spent meanwhile.
 */
async function steadyIngest(hubs: Hub[], gens: Generator[], databasePort: number | null): Promise<Ingest> {
  const rounds = await Promise.all(gens.map((g) => g.ask({ cmd: 'pump', seconds: 300 }, 'pumping')));
  const cpuNow = () => ({
    hubs: hubs.reduce((n, h) => n + processCpuMs(h.proc.pid!), 0),
    generators: gens.reduce((n, g) => n + processCpuMs(g.proc.pid!), 0),
    database: databasePort === null ? 0 : postgresCpuMs(databasePort),
  });
  // Reading the counters of loaded hubs takes a while: counts, CPU and time are taken around the same moment.
  const snapshot = async () => {
    const t = performance.now();
    const c = cpuNow();
    const written = await storedStatuses(hubs);
    const d = cpuNow();
    return { at: (t + performance.now()) / 2, written, cpu: { hubs: (c.hubs + d.hubs) / 2, generators: (c.generators + d.generators) / 2, database: (c.database + d.database) / 2 } };
  };
  const s0 = await snapshot();
  const measured = (await Promise.all(gens.map((g) => g.ask({ cmd: 'measure', seconds: INGEST_S }, 'measured')))).map(
    (m) => m.measured as { perSecond: number; ackP50: number; ackP99: number },
  );
  const s1 = await snapshot();
  await Promise.all(gens.map((g) => g.ask({ cmd: 'stop' }, 'stopped')));
  const written = s1.written - s0.written;
  const [c0, c1] = [s0.cpu, s1.cpu];
  const perThousand = (ms: number) => (ms * 1000) / Math.max(1, written);
  return {
    roundMs: Math.max(...rounds.map((r) => (r.pumping as { roundMs: number }).roundMs)),
    ackedPerSecond: measured.reduce((n, m) => n + m.perSecond, 0),
    storedPerSecond: written / ((s1.at - s0.at) / 1000),
    ackP50: Math.max(...measured.map((m) => m.ackP50)),
    ackP99: Math.max(...measured.map((m) => m.ackP99)),
    cpu: { hubs: perThousand(c1.hubs - c0.hubs), generators: perThousand(c1.generators - c0.generators), database: perThousand(c1.database - c0.database) },
  };
}

interface Run {
  connect: { ms: number; connected: number; failed: number };
  burst: Burst;
  ingest: Ingest;
  rss: number[];
  peakRss: number[];
  heap: Array<{ heap: number; external: number }>;
  /** Which replica led when the RSS was read. */
  leader: number;
  summary: Array<{ p50: number; p99: number }>;
  change: { fromOrigin: number[]; fromSend: number[] } | null;
  webhookMs: number;
}

async function runCluster(): Promise<Run> {
  const cluster = await startPostgres({ fsync: true, maxConnections: 40 + REPLICAS * 15 });
  const database = await cluster.createDatabase();
  const hubs: Hub[] = [];
  const gens: Generator[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'gitfleet-bench-scale-'));
  try {
    for (let i = 0; i < REPLICAS; i++) hubs.push(await startHub({ GITFLEET_HUB_DATABASE: database, GITFLEET_HUB_DATA_DIR: join(dataDir, `r${i}`) }));
    for (let i = 0; i < REPLICAS; i++) gens.push(new Generator());
    await Promise.all(gens.map((g) => g.next('ready')));
    const per = Math.ceil(AGENTS / REPLICAS);
    const t0 = performance.now();
    const connected = await Promise.all(
      gens.map((g, i) => g.ask({ cmd: 'connect', url: `ws://127.0.0.1:${hubs[i]!.port}/agent`, n: Math.min(per, AGENTS - i * per), token: ENROLL, prefix: `r${i}-h`, net: 10 + i }, 'connected')),
    );
    const connect = {
      ms: performance.now() - t0,
      connected: connected.reduce((n, c) => n + (c.connected as { connected: number }).connected, 0),
      failed: connected.reduce((n, c) => n + (c.connected as { failed: number }).failed, 0),
    };
    console.log(`cluster: ${connect.connected} agents connected in ${Math.round(connect.ms / 1000)} s (${connect.failed} failed)`);
    const burst = await firstReports(gens);
    console.log(`cluster: first report of every agent acked in ${Math.round(burst.ms)} ms (first ack after ${Math.round(burst.firstAckMs)} ms; ${burst.closed} connections closed)`);
    const ingest = await steadyIngest(hubs, gens, cluster.port);
    const rss = hubs.map((h) => rssMiB(h.proc.pid!));
    const peakRss = hubs.map((h) => peakRssMiB(h.proc.pid!));
    const heap = await Promise.all(hubs.map((h) => heapMiB(h)));
    const leader = hubs.findIndex((h) => h.leads);
    console.log(`cluster: ${Math.round(ingest.ackedPerSecond)} statuses/s acked (first round ${Math.round(ingest.roundMs)} ms); RSS ${rss.join(', ')} MiB (peak ${peakRss.join(', ')}); heap used ${heap.map((m) => m.heap).join(', ')} MiB; leader ${leader + 1}`);
    await heapSnapshots(hubs);
    const summary: Run['summary'] = [];
    for (const h of hubs) summary.push(await summaryLatency(h.base));
    // A change stored by one replica: how long until every replica's index shows it?
    const fromOrigin: number[] = [];
    const fromSend: number[] = [];
    for (let s = 0; s < CHANGE_SAMPLES; s++) {
      const g = s % REPLICAS;
      const id = `r${g}-h${String((s * 7) % per).padStart(5, '0')}`;
      const sync = s % 2 === 0 ? 'Failed' : 'Drifted';
      const sent = ((await gens[g]!.ask({ cmd: 'change', id, sync }, 'changed')).at as number) ?? Date.now();
      const seenAt = new Map<number, number>();
      const deadline = Date.now() + 20_000;
      while (seenAt.size < hubs.length && Date.now() < deadline) {
        await Promise.all(
          hubs.map(async (h, i) => {
            if (seenAt.has(i)) return;
            const r = await get<{ summary: { sync: string } }>(`${h.base}/api/v1/hosts/${id}`).catch(() => null);
            if (r?.summary.sync === sync) seenAt.set(i, Date.now());
          }),
        );
        await sleep(10);
      }
      if (seenAt.size < hubs.length) continue;
      const last = Math.max(...seenAt.values());
      fromSend.push(last - sent);
      fromOrigin.push(last - seenAt.get(g)!);
    }
    fromOrigin.sort((a, b) => a - b);
    fromSend.sort((a, b) => a - b);
    const webhookMs = await webhookToAll(hubs, gens);
    return { connect, burst, ingest, rss, peakRss, heap, leader, summary, change: { fromOrigin, fromSend }, webhookMs };
  } finally {
    for (const g of gens) g.proc.send({ cmd: 'exit' });
    for (const h of hubs) h.proc.kill('SIGTERM');
    await Promise.all(hubs.map((h) => new Promise((r) => (h.proc.exitCode !== null ? r(null) : h.proc.once('exit', r)))));
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runSqlite(): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gitfleet-bench-scale-sqlite-'));
  const hub = await startHub({ GITFLEET_HUB_DATA_DIR: dataDir });
  const gen = new Generator();
  try {
    await gen.next('ready');
    const t0 = performance.now();
    const c = (await gen.ask({ cmd: 'connect', url: `ws://127.0.0.1:${hub.port}/agent`, n: SQLITE_AGENTS, token: ENROLL, prefix: 's-h', net: 30 }, 'connected')).connected as { connected: number; failed: number };
    const connect = { ms: performance.now() - t0, connected: c.connected, failed: c.failed };
    const burst = await firstReports([gen]);
    const ingest = await steadyIngest([hub], [gen], null);
    const rss = [rssMiB(hub.proc.pid!)];
    const peakRss = [peakRssMiB(hub.proc.pid!)];
    const heap = [await heapMiB(hub)];
    const summary = [await summaryLatency(hub.base)];
    const webhookMs = await webhookToAll([hub], [gen]);
    return { connect, burst, ingest, rss, peakRss, heap, leader: -1, summary, change: null, webhookMs };
  } finally {
    gen.proc.send({ cmd: 'exit' });
    hub.proc.kill('SIGTERM');
    await new Promise((r) => hub.proc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const started = Date.now();
// The machine may be shared: the numbers below follow its load, printed beside them.
const loadBefore = loadavg();
const onCluster = await runCluster();
const onSqlite = await runSqlite();
const fmt = (n: number) => (Number.isNaN(n) ? 'timed out' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const cpuCell = (c: Ingest['cpu']) => `${fmt(c.hubs)} + ${fmt(c.generators)} + ${fmt(c.database)} = ${fmt(c.hubs + c.generators + c.database)}`;
console.log(`\nhub scale: ${AGENTS} agents on ${REPLICAS} PostgreSQL replicas, ${SQLITE_AGENTS} on one SQLite hub, ${INGEST_S} s ingest, same run (${Math.round((Date.now() - started) / 1000)} s)`);
console.log(`load average (1/5/15 min) ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadavg().map((l) => l.toFixed(2)).join(' ')} after\n`);
const rows: Array<[string, string, string, string]> = [
  ['agents connected (failed)', `${onCluster.connect.connected} (${onCluster.connect.failed}) in ${fmt(onCluster.connect.ms / 1000)} s`, `${onSqlite.connect.connected} (${onSqlite.connect.failed}) in ${fmt(onSqlite.connect.ms / 1000)} s`, '-'],
  ['RSS per replica (leader starred)', `${onCluster.rss.map((r, i) => (i === onCluster.leader ? `${r}*` : String(r))).join(' / ')} MiB`, `${onSqlite.rss[0]} MiB`, '<= 1024 MiB at ~17,000 agents'],
  ['peak RSS per replica (since it started)', `${onCluster.peakRss.join(' / ')} MiB`, `${onSqlite.peakRss[0]} MiB`, '-'],
  ['heap used (+ external) per replica', `${onCluster.heap.map((m) => `${m.heap}+${m.external}`).join(' / ')} MiB`, `${onSqlite.heap[0]!.heap}+${onSqlite.heap[0]!.external} MiB`, '-'],
  ['first report of every agent: all acked (first ack after)', `${fmt(onCluster.burst.ms)} ms (${fmt(onCluster.burst.firstAckMs)} ms)`, `${fmt(onSqlite.burst.ms)} ms (${fmt(onSqlite.burst.firstAckMs)} ms)`, '-'],
  ['agent connections closed by a hub by then', String(onCluster.burst.closed), String(onSqlite.burst.closed), '0'],
  ['steady ingest: first round (every agent acked once)', `${fmt(onCluster.ingest.roundMs)} ms`, `${fmt(onSqlite.ingest.roundMs)} ms`, '-'],
  ['statuses acked / s (then, for the window)', fmt(onCluster.ingest.ackedPerSecond), fmt(onSqlite.ingest.ackedPerSecond), '-'],
  ['statuses written / s (hub counters)', fmt(onCluster.ingest.storedPerSecond), fmt(onSqlite.ingest.storedPerSecond), '>= 10,000 / s (one PostgreSQL replica)'],
  ['status ack p50 / p99', `${fmt(onCluster.ingest.ackP50)} / ${fmt(onCluster.ingest.ackP99)} ms`, `${fmt(onSqlite.ingest.ackP50)} / ${fmt(onSqlite.ingest.ackP99)} ms`, '-'],
  ['CPU ms per 1,000 written: hubs + generators + PostgreSQL', cpuCell(onCluster.ingest.cpu), cpuCell(onSqlite.ingest.cpu), '-'],
  ['summary p50 / p99 per replica', onCluster.summary.map((s) => `${fmt(s.p50)}/${fmt(s.p99)}`).join('  ') + ' ms', `${fmt(onSqlite.summary[0]!.p50)}/${fmt(onSqlite.summary[0]!.p99)} ms`, '-'],
  [
    'change on all replicas p50 / p99 (after the storing replica shows it)',
    onCluster.change && onCluster.change.fromOrigin.length > 0 ? `${fmt(percentile(onCluster.change.fromOrigin, 50))} / ${fmt(percentile(onCluster.change.fromOrigin, 99))} ms (n=${onCluster.change.fromOrigin.length})` : '-',
    '-',
    'p99 <= 1000 ms',
  ],
  ['change on all replicas p50 / p99 (after the agent sent it)', onCluster.change && onCluster.change.fromSend.length > 0 ? `${fmt(percentile(onCluster.change.fromSend, 50))} / ${fmt(percentile(onCluster.change.fromSend, 99))} ms` : '-', '-', '-'],
  ['webhook -> every agent notified', `${fmt(onCluster.webhookMs)} ms`, `${fmt(onSqlite.webhookMs)} ms`, '<= 5000 ms'],
];
const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['measure', 'cluster (PostgreSQL)', 'one hub (SQLite)', 'goal'][i]!.length));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(line(['measure', 'cluster (PostgreSQL)', 'one hub (SQLite)', 'goal']));
for (const r of rows) console.log(line(r));
if (warnings.size > 0) console.log(`\nhub log lines worth a look (count, message):\n${[...warnings].map(([m, n]) => `  ${n}  ${m}`).join('\n')}`);
process.exit(0);
