// The load generator of bench/hub-load.ts, in its own process: N simulated
// agents over real WebSockets speaking the real protocol (hello → welcome,
// status → ack, reconcile-now). Driven by its parent over IPC.
import WebSocket from 'ws';
import { PROTOCOL_VERSION, encodeMessage, parseHubMessage } from '../shared/protocol.ts';
import type { AgentMessage } from '../shared/protocol.ts';
import type { HostStatus } from '../shared/status.ts';
import { emptyFacts } from '../agent/facts.ts';

interface Sim {
  id: string;
  ws: WebSocket;
  seq: number;
  acked: number;
}

/** Statuses each simulated agent may have sent and not yet seen acked. */
const WINDOW = 4;

const sims: Sim[] = [];
let reconciles = 0;
let target = 0;
let armedAt = 0;
let onAck: (() => void) | null = null;
let ackedTotal = 0;

const send = (msg: unknown) => process.send!(msg);

function status(id: string, n: number): HostStatus {
  const now = new Date().toISOString();
  return {
    host: id,
    place: `site-${Number(id.slice(5)) % 20}/rack-${Number(id.slice(5)) % 7}`,
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
    attempts: [],
    updatedAt: now,
  };
}

function connectOne(url: string, id: string, token: string): Promise<Sim> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const sim: Sim = { id, ws, seq: 0, acked: 0 };
    ws.on('error', reject);
    ws.on('open', () => {
      const place = `site-${Number(id.slice(5)) % 20}/rack-${Number(id.slice(5)) % 7}`;
      const hello: AgentMessage = { type: 'hello', protocol: PROTOCOL_VERSION, host: id, agentVersion: 'bench', place, tags: place.split('/').map((_, i, a) => a.slice(0, i + 1).join('/')), facts: emptyFacts(), droppedEvents: 0, enrollmentToken: token };
      ws.send(encodeMessage(hello));
    });
    ws.on('message', (data: Buffer) => {
      const m = parseHubMessage(data);
      if (m.type === 'welcome') {
        sim.seq = m.lastSeq;
        sim.acked = m.lastSeq;
        resolve(sim);
      } else if (m.type === 'ack') {
        ackedTotal += m.seq - sim.acked;
        sim.acked = m.seq;
        onAck?.();
      } else if (m.type === 'reconcile-now') {
        reconciles++;
        if (reconciles === target) send({ allReconciled: Date.now(), ms: Date.now() - armedAt });
      } else if (m.type === 'error') reject(new Error(`${m.code}: ${m.message}`));
    });
  });
}

async function connect(url: string, n: number, token: string, prefix: string) {
  const started = performance.now();
  const batch = 200;
  for (let i = 0; i < n; i += batch) {
    const ids = Array.from({ length: Math.min(batch, n - i) }, (_, k) => `${prefix}${String(i + k).padStart(5, '0')}`);
    sims.push(...(await Promise.all(ids.map((id) => connectOne(url, id, token)))));
  }
  setInterval(() => {
    for (const s of sims) if (s.ws.readyState === WebSocket.OPEN) s.ws.send('{"type":"heartbeat"}');
  }, 20_000).unref();
  return performance.now() - started;
}

/** Every agent keeps WINDOW statuses in flight (sent, not yet acked) for `seconds`; returns acked statuses per second. */
async function ingest(seconds: number) {
  ackedTotal = 0;
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const pump = () => {
    if (performance.now() > deadline) return;
    for (const s of sims) {
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
  // Let the hub drain what is still in flight, so later measurements do not compete with a backlog.
  const drainStart = performance.now();
  while (sims.some((s) => s.acked < s.seq) && performance.now() - drainStart < 120_000) await new Promise((r) => setTimeout(r, 50));
  return { acked, perSecond: acked / elapsed, drainMs: performance.now() - drainStart };
}

process.on('message', (msg: { cmd: string; url?: string; n?: number; token?: string; seconds?: number; prefix?: string }) => {
  void (async () => {
    try {
      if (msg.cmd === 'connect') send({ connected: msg.n, ms: await connect(msg.url!, msg.n!, msg.token!, msg.prefix ?? 'host-') });
      else if (msg.cmd === 'ingest') send({ ingest: await ingest(msg.seconds!) });
      else if (msg.cmd === 'arm') {
        reconciles = 0;
        target = sims.length;
        armedAt = Date.now();
        send({ armed: true });
      } else if (msg.cmd === 'exit') {
        for (const s of sims) s.ws.terminate();
        process.exit(0);
      }
    } catch (error) {
      send({ error: (error as Error).message });
    }
  })();
});
send({ ready: true });
