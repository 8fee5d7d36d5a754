// A load generator of bench/hub-scale-pg.ts, in its own process (a process
// here may hold at most 20,000 open files): N simulated agents over real
// WebSockets speaking the real protocol to one hub replica, each from its own
// loopback address (127.G.x.y), so the hub's per-address limits see one agent
// per address as in a real fleet. Driven by its parent over IPC: connect,
// burst (one status from every agent, until all are acked), pump / measure /
// stop (steady ingest, counted after a first round), change, arm, exit.
import WebSocket from 'ws';
import { PROTOCOL_VERSION, encodeMessage, parseHubMessage } from '../shared/protocol.ts';
import type { AgentMessage } from '../shared/protocol.ts';
import type { HostStatus, SyncState } from '../shared/status.ts';
import { emptyFacts } from '../agent/facts.ts';

interface Sim {
  id: string;
  ws: WebSocket;
  seq: number;
  acked: number;
  /** Send times of the statuses not acked yet, oldest first: [seq, ms]. */
  unacked: Array<[number, number]>;
}

const WINDOW = 2;
const sims = new Map<string, Sim>();
let reconciles = 0;
let target = 0;
let onAck: (() => void) | null = null;
let ackedTotal = 0;
let failures = 0;
/** Send-to-ack times of the statuses acked while measuring (null: not measuring). */
let ackLatencies: number[] | null = null;
const send = (msg: unknown) => process.send!(msg);

function status(id: string, n: number, sync: SyncState = 'InSync'): HostStatus {
  const now = new Date().toISOString();
  return {
    host: id,
    place: `site-${id.length % 20}`,
    tags: [],
    conditions: [{ type: 'Ready', status: true, reason: 'Applied', message: `pass ${n}`, lastTransitionTime: now }],
    lastAppliedRevision: 'c0ffee'.padEnd(40, '0'),
    lastAttemptedRevision: 'c0ffee'.padEnd(40, '0'),
    resources: Array.from({ length: 10 }, (_, i) => ({ id: `container/app-${i}`, sync: i === 0 ? sync : ('InSync' as const), health: 'Healthy' as const, diff: [] })),
    attempts: [],
    updatedAt: now,
  };
}

function connectOne(url: string, id: string, token: string, localAddress: string): Promise<Sim | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress, handshakeTimeout: 60_000 });
    const sim: Sim = { id, ws, seq: 0, acked: 0, unacked: [] };
    let settled = false;
    const done = (value: Sim | null) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    ws.on('error', () => done(null));
    ws.on('close', () => done(null));
    ws.on('open', () => {
      const hello: AgentMessage = { type: 'hello', protocol: PROTOCOL_VERSION, host: id, agentVersion: 'bench', place: `site-${id.length % 20}`, tags: [], facts: emptyFacts(), droppedEvents: 0, enrollmentToken: token };
      ws.send(encodeMessage(hello));
    });
    ws.on('message', (data: Buffer) => {
      const m = parseHubMessage(data);
      if (m.type === 'welcome') {
        sim.seq = m.lastSeq;
        sim.acked = m.lastSeq;
        done(sim);
      } else if (m.type === 'ack') {
        ackedTotal += Math.max(0, m.seq - sim.acked);
        sim.acked = Math.max(sim.acked, m.seq);
        const now = performance.now();
        while (sim.unacked.length > 0 && sim.unacked[0]![0] <= m.seq) {
          const [, at] = sim.unacked.shift()!;
          ackLatencies?.push(now - at);
        }
        onAck?.();
      } else if (m.type === 'reconcile-now') {
        reconciles++;
        if (reconciles === target) send({ allReconciled: Date.now() });
      } else if (m.type === 'error') done(null);
    });
  });
}

async function connect(url: string, n: number, token: string, prefix: string, net: number) {
  const started = performance.now();
  // Heartbeats from the first connection on: connecting thousands takes longer than the hub's silence limit.
  setInterval(() => {
    for (const s of sims.values()) if (s.ws.readyState === WebSocket.OPEN) s.ws.send('{"type":"heartbeat"}');
  }, 20_000).unref();
  const batch = 100;
  for (let i = 0; i < n; i += batch) {
    const chunk = Array.from({ length: Math.min(batch, n - i) }, (_, k) => i + k);
    const made = await Promise.all(
      chunk.map((k) => connectOne(url, `${prefix}${String(k).padStart(5, '0')}`, token, `127.${net}.${Math.floor((k + 1) / 250)}.${((k + 1) % 250) + 1}`)),
    );
    for (const s of made) {
      if (s) sims.set(s.id, s);
      else failures++;
    }
  }
  return { ms: performance.now() - started, connected: sims.size, failed: failures };
}

function sendStatus(s: Sim, n: number, sync: SyncState = 'InSync'): void {
  s.seq++;
  s.unacked.push([s.seq, performance.now()]);
  s.ws.send(encodeMessage({ type: 'status', seq: s.seq, status: status(s.id, n, sync) }));
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

/** Waits (at most `limitMs`) until every status sent on a connection still open is acked. */
async function drained(limitMs: number): Promise<number> {
  const start = performance.now();
  while ([...sims.values()].some((s) => s.ws.readyState === WebSocket.OPEN && s.acked < s.seq) && performance.now() - start < limitMs) await new Promise((r) => setTimeout(r, 100));
  return performance.now() - start;
}

/** Connections the hub closed (or that failed) after the welcome. */
const closedSince = () => [...sims.values()].filter((s) => s.ws.readyState !== WebSocket.OPEN).length;

/**
 * One status from every agent at once, as right after they connected (each
 * host's first report: its row grows from a bare enrollment to a snapshot),
 * until all are acked: how long the burst takes, and when its first ack came.
 */
async function burst() {
  ackLatencies = [];
  const started = performance.now();
  let n = 0;
  for (const s of sims.values()) if (s.ws.readyState === WebSocket.OPEN) sendStatus(s, ++n);
  await drained(300_000);
  const latencies = ackLatencies;
  ackLatencies = null;
  return { sent: n, acked: latencies.length, closed: closedSince(), ms: performance.now() - started, firstAckMs: latencies.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/**
 * Steady ingest: every agent keeps WINDOW statuses in flight, sending the
 * next as soon as one is acked, until stop(). While a fleet's first round is
 * still queued at the hubs nothing is acked at all (each agent's status waits
 * behind every other agent's), so the parent measures only after the first
 * round: pump() resolves once every agent had a status acked that it sent
 * after pumping began.
 */
let pumping = false;
let statusNumber = 0;

function pumpOnce(): void {
  if (!pumping) return;
  for (const s of sims.values()) {
    if (s.ws.readyState !== WebSocket.OPEN) continue;
    while (s.seq - s.acked < WINDOW) sendStatus(s, ++statusNumber);
  }
}

async function pump(limitMs: number) {
  pumping = true;
  let scheduled = false;
  onAck = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pumpOnce();
    });
  };
  const started = performance.now();
  const firstSeq = new Map([...sims].map(([id, s]) => [id, s.seq + 1]));
  pumpOnce();
  while ([...sims.values()].some((s) => s.ws.readyState === WebSocket.OPEN && s.acked < firstSeq.get(s.id)!) && performance.now() - started < limitMs) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return { roundMs: performance.now() - started };
}

async function measure(seconds: number) {
  ackedTotal = 0;
  ackLatencies = [];
  const started = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - started) / 1000;
  const acked = ackedTotal;
  const latencies = ackLatencies;
  ackLatencies = null;
  return { acked, perSecond: acked / elapsed, ackP50: percentile(latencies, 50), ackP99: percentile(latencies, 99) };
}

async function stop() {
  pumping = false;
  onAck = null;
  return { drainMs: await drained(120_000) };
}

process.on('message', (msg: { cmd: string; url?: string; n?: number; token?: string; seconds?: number; prefix?: string; net?: number; id?: string; sync?: SyncState }) => {
  void (async () => {
    try {
      if (msg.cmd === 'connect') send({ connected: await connect(msg.url!, msg.n!, msg.token!, msg.prefix!, msg.net!) });
      else if (msg.cmd === 'burst') send({ burst: await burst() });
      else if (msg.cmd === 'pump') send({ pumping: await pump(msg.seconds! * 1000) });
      else if (msg.cmd === 'measure') send({ measured: await measure(msg.seconds!) });
      else if (msg.cmd === 'stop') send({ stopped: await stop() });
      else if (msg.cmd === 'change') {
        const s = sims.get(msg.id!);
        if (s) sendStatus(s, s.seq + 1, msg.sync);
        send({ changed: Boolean(s), at: Date.now() });
      } else if (msg.cmd === 'arm') {
        reconciles = 0;
        target = sims.size;
        send({ armed: target });
      } else if (msg.cmd === 'exit') {
        for (const s of sims.values()) s.ws.terminate();
        process.exit(0);
      }
    } catch (error) {
      send({ error: (error as Error).message });
    }
  })();
});
send({ ready: true });
