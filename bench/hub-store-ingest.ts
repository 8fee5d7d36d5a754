// Store ingest, PostgreSQL against SQLite in the same run (issue 22): H hosts
// each write status snapshots one after another (as an agent session does:
// the next write waits for the previous one's ack), all hosts at once, for S
// seconds, into each store. PostgreSQL is a private cluster on this machine
// with fsync on and synchronous_commit off (SQLite runs WAL with
// synchronous=NORMAL: both survive a process crash, neither waits for the
// disk on each commit), then PostgreSQL again with synchronous_commit on,
// its default (each batch's commit waits for the WAL flush). The hosts are enrolled (concurrently) just before
// their first snapshots, as after an enrollment burst. Besides statuses per
// second, it reports the CPU time spent per 1,000 statuses (this process —
// the store and the load alike — plus, for PostgreSQL, every server
// process): on a machine shared with other work, wall-clock rates follow the
// load average; CPU per status does not.
//   node --import tsx bench/hub-store-ingest.ts [hosts] [seconds]
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteFleetStore } from '../hub/store/sqlite-store.ts';
import { PostgresFleetStore } from '../hub/store/postgres-store.ts';
import type { FleetStore } from '../hub/store/fleet-store.ts';
import type { HostStatus } from '../shared/status.ts';
import pg from 'pg';
import { startPostgres } from '../test/harness/postgres.ts';
import { ownCpuMs, postgresCpuMs } from './cpu-time.ts';

const HOSTS = Number(process.argv[2] ?? 2000);
const SECONDS = Number(process.argv[3] ?? 10);

function status(id: string, n: number): HostStatus {
  const now = new Date(Date.parse('2026-01-01T00:00:00Z') + n * 1000).toISOString();
  return {
    host: id,
    place: 'site-1/rack-2',
    tags: [],
    conditions: [{ type: 'Ready', status: true, reason: 'Applied', message: `pass ${n}`, lastTransitionTime: now }],
    lastAppliedRevision: 'c0ffee'.padEnd(40, '0'),
    lastAttemptedRevision: 'c0ffee'.padEnd(40, '0'),
    resources: Array.from({ length: 10 }, (_, i) => ({
      id: `container/app-${i}`,
      sync: i === 0 && n % 5 === 0 ? ('Drifted' as const) : ('InSync' as const),
      health: 'Healthy' as const,
      diff: i === 0 && n % 5 === 0 ? [{ field: 'image', desired: 'nginx:1.27', live: 'nginx:1.26' }] : [],
    })),
    // A new attempt every 10th snapshot, the last 5 re-sent as agents do.
    attempts: Array.from({ length: Math.min(5, Math.floor(n / 10) + 1) }, (_, k) => ({
      trigger: 'poll' as const,
      revision: 'c0ffee'.padEnd(40, '0'),
      startedAt: new Date(Date.parse('2026-01-01T00:00:00Z') + (Math.floor(n / 10) - k) * 10_000).toISOString(),
      durationMs: 12,
      result: 'Succeeded' as const,
      intended: [],
      driftCorrected: [],
    })),
    updatedAt: now,
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

interface Measured {
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU ms per 1,000 statuses: this process, and the database server's processes. */
  ownCpu: number;
  serverCpu: number;
}

async function measure(store: FleetStore, serverCpuMs: () => number, ready: () => void = () => {}): Promise<Measured> {
  const ids = Array.from({ length: HOSTS }, (_, i) => `host-${String(i).padStart(6, '0')}`);
  const ENROLLING = 64;
  for (let i = 0; i < ids.length; i += ENROLLING) await Promise.all(ids.slice(i, i + ENROLLING).map((id) => store.enroll(id, 'x'.repeat(64), new Date().toISOString())));
  ready();
  const own0 = ownCpuMs();
  const server0 = serverCpuMs();
  let stored = 0;
  const latencies: number[] = [];
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    ids.map(async (id) => {
      for (let seq = 1; performance.now() < deadline; seq++) {
        const t = performance.now();
        if (!(await store.saveStatus(id, seq, status(id, seq)))) throw new Error(`seq ${seq} of ${id} refused`);
        latencies.push(performance.now() - t);
        stored++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const perThousand = (ms: number) => (ms * 1000) / stored;
  const ownCpu = perThousand(ownCpuMs() - own0);
  const serverCpu = perThousand(serverCpuMs() - server0);
  latencies.sort((a, b) => a - b);
  return { perSecond: stored / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), ownCpu, serverCpu };
}

const loadBefore = loadavg()[0]!;
const dir = mkdtempSync(join(tmpdir(), 'gitfleet-bench-ingest-'));
const sqlite = new SqliteFleetStore(join(dir, 'hub.sqlite'));
const onSqlite = await measure(sqlite, () => 0);
await sqlite.close();
rmSync(dir, { recursive: true, force: true });

const cluster = await startPostgres({ fsync: true });
let onPostgres: Measured;
let onPostgresSync: Measured;
let batches: { batches: number; writes: number };
try {
  const store = await PostgresFleetStore.open(await cluster.createDatabase());
  let before = store.batchStats;
  onPostgres = await measure(store, () => postgresCpuMs(cluster.port), () => (before = store.batchStats));
  batches = { batches: store.batchStats.batches - before.batches, writes: store.batchStats.writes - before.writes };
  await store.close();
  // PostgreSQL's own default: every commit waits for its WAL flush (one per batch), so an acked report survives a server crash.
  const url = await cluster.createDatabase();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET synchronous_commit = on`);
  await admin.end();
  const synced = await PostgresFleetStore.open(url);
  onPostgresSync = await measure(synced, () => postgresCpuMs(cluster.port));
  await synced.close();
} finally {
  await cluster.stop();
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const cpu = (m: Measured) => `${fmt(m.ownCpu)} + ${fmt(m.serverCpu)} = ${fmt(m.ownCpu + m.serverCpu)}`;
console.log(`\nstore ingest: ${HOSTS} hosts writing one status after another, ${SECONDS} s each store, same run`);
console.log(`load average (1 min) ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after, on ${availableParallelism()} cores\n`);
console.log(`store        statuses/s   write p50 / p99          CPU ms per 1,000 statuses (this process + database)`);
console.log(`SQLite       ${fmt(onSqlite.perSecond).padEnd(12)} ${`${fmt(onSqlite.p50)} / ${fmt(onSqlite.p99)} ms`.padEnd(24)} ${cpu(onSqlite)}`);
console.log(`PostgreSQL   ${fmt(onPostgres.perSecond).padEnd(12)} ${`${fmt(onPostgres.p50)} / ${fmt(onPostgres.p99)} ms`.padEnd(24)} ${cpu(onPostgres)}   (${batches.batches} batches, ${fmt(batches.writes / Math.max(1, batches.batches))} writes each)`);
console.log(`  same, synchronous_commit=on (PostgreSQL's default): ${fmt(onPostgresSync.perSecond)} statuses/s, ${fmt(onPostgresSync.p50)} / ${fmt(onPostgresSync.p99)} ms, CPU ${cpu(onPostgresSync)}`);
console.log(
  `ratio PostgreSQL / SQLite: ${(onPostgres.perSecond / onSqlite.perSecond).toFixed(2)}x; PostgreSQL / the 10,000 statuses/s goal: ${(onPostgres.perSecond / 10_000).toFixed(2)}x (${onPostgres.perSecond >= 10_000 ? 'met' : 'NOT met'}; with synchronous_commit=on ${(onPostgresSync.perSecond / 10_000).toFixed(2)}x)`,
);
