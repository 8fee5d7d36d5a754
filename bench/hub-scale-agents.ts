// A load generator of bench/hub-scale-pg.ts, in its own process (a process
// here may hold at most 20,000 open files): N simulated agents over real
// WebSockets speaking the real protocol to one hub replica, each from its own
// loopback address (127.G.x.y), so the hub's per-address limits see one agent
// per address as in a real fleet. Driven by its parent over IPC.
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
}

const WINDOW = 2;
const sims = new Map<string, Sim>();
let reconciles = 0;
let target = 0;
let onAck: (() => void) | null = null;
let ackedTotal = 0;
let failures = 0;
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
    const sim: Sim = { id, ws, seq: 0, acked: 0 };
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

async function ingest(seconds: number) {
  ackedTotal = 0;
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const pump = () => {
    if (performance.now() > deadline) return;
    for (const s of sims.values()) {
      if (s.ws.readyState !== WebSocket.OPEN) continue;
      while (s.seq - s.acked < WINDOW) s.ws.send(encodeMessage({ type: 'status', seq: ++s.seq, status: status(s.id, ++n) }));
    }
  };
  let scheduled = false;
  onAck = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  };
  const started = performance.now();
  pump();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - started) / 1000;
  onAck = null;
  const acked = ackedTotal;
  const drainStart = performance.now();
  while ([...sims.values()].some((s) => s.acked < s.seq) && performance.now() - drainStart < 120_000) await new Promise((r) => setTimeout(r, 100));
  return { acked, perSecond: acked / elapsed, drainMs: performance.now() - drainStart };
}

process.on('message', (msg: { cmd: string; url?: string; n?: number; token?: string; seconds?: number; prefix?: string; net?: number; id?: string; sync?: SyncState }) => {
  void (async () => {
    try {
      if (msg.cmd === 'connect') send({ connected: await connect(msg.url!, msg.n!, msg.token!, msg.prefix!, msg.net!) });
      else if (msg.cmd === 'ingest') send({ ingest: await ingest(msg.seconds!) });
      else if (msg.cmd === 'change') {
        const s = sims.get(msg.id!);
        if (s) s.ws.send(encodeMessage({ type: 'status', seq: ++s.seq, status: status(s.id, s.seq, msg.sync) }));
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
