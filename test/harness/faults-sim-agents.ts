// Simulated agents for the hub-crash fault (test/e2e/faults-hub-crash.test.ts),
// in their own process, driven over IPC: the agents of bench/hub-load-agents.ts
// (real WebSockets, the real protocol), plus what that benchmark does not need —
// each keeps the credential it was enrolled with, keeps every report until the
// hub acks it, reconnects with backoff and jitter when the hub goes away, and
// on welcome resends exactly what the hub says it has not stored (as the real
// agent's report queue does). Each one keeps a ledger: what it generated, the
// highest seq acked, and any ack the hub later forgot (an acked report lost).
import WebSocket from 'ws';
import { PROTOCOL_VERSION, encodeMessage, parseHubMessage } from '../../shared/protocol.ts';
import type { AgentMessage } from '../../shared/protocol.ts';
import type { HostStatus } from '../../shared/status.ts';
import { emptyFacts } from '../../agent/facts.ts';

interface Report {
  seq: number;
  frame: string;
}

interface Sim {
  id: string;
  /** Its own loopback source address (127.77.x.y), as hosts of a fleet each have their own. */
  address: string;
  ws: WebSocket | null;
  welcomed: boolean;
  credential: string | null;
  nextSeq: number;
  acked: number;
  /** Generated and not yet acked, in seq order. */
  pending: Report[];
  /** Highest seq written to the current socket. */
  sentUpTo: number;
  attempt: number;
  events: number[];
  lastStatusSeq: number;
  connects: number;
  ackedThenLost: number;
}

/** Reports each agent may have written and not seen acked (the real agent writes its whole queue; a window keeps 1,000 of them fair). */
const WINDOW = 4;
const RECONNECT_BASE_MS = 250;
const RECONNECT_MAX_MS = 3000;

const sims: Sim[] = [];
let url = '';
let token = '';
let generating = false;
/** From the hub's welcome; a silent connection is closed after 3 of them. */
let heartbeatMs = 30_000;
let beating = false;

function heartbeats(): void {
  if (beating) return;
  beating = true;
  const beat = () => {
    for (const s of sims) if (s.welcomed && s.ws?.readyState === WebSocket.OPEN) s.ws.send('{"type":"heartbeat"}');
    setTimeout(beat, heartbeatMs).unref();
  };
  setTimeout(beat, heartbeatMs).unref();
}

const send = (msg: unknown) => process.send!(msg);

function status(id: string, seq: number): HostStatus {
  const now = new Date().toISOString();
  return {
    host: id,
    place: 'sim',
    tags: [],
    conditions: [{ type: 'Ready', status: true, reason: 'Applied', message: `seq ${seq}`, lastTransitionTime: now }],
    lastAppliedRevision: 'c0ffee'.padEnd(40, '0'),
    lastAttemptedRevision: 'c0ffee'.padEnd(40, '0'),
    resources: [{ id: 'container/app', sync: 'InSync', health: 'Healthy', diff: [] }],
    attempts: [],
    updatedAt: now,
  };
}

/** One more report: events and statuses alternate, all numbered in one seq space as the agent's queue does. */
function generate(s: Sim): void {
  const seq = s.nextSeq++;
  let message: AgentMessage;
  if (seq % 2 === 0) {
    message = { type: 'event', seq, time: new Date().toISOString(), level: 'info', reason: 'SimEvent', message: `${s.id} event ${seq}` };
    s.events.push(seq);
  } else {
    message = { type: 'status', seq, status: status(s.id, seq) };
    s.lastStatusSeq = seq;
  }
  s.pending.push({ seq, frame: encodeMessage(message) });
}

function pump(s: Sim): void {
  const ws = s.ws;
  if (!ws || !s.welcomed || ws.readyState !== WebSocket.OPEN) return;
  for (const r of s.pending) {
    if (r.seq <= s.sentUpTo) continue;
    if (r.seq - s.acked > WINDOW) break;
    ws.send(r.frame);
    s.sentUpTo = r.seq;
  }
}

function ackUpTo(s: Sim, seq: number): void {
  s.acked = Math.max(s.acked, seq);
  while (s.pending.length > 0 && s.pending[0]!.seq <= seq) s.pending.shift();
}

function connect(s: Sim): void {
  const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000, localAddress: s.address });
  s.ws = ws;
  s.welcomed = false;
  s.sentUpTo = 0;
  ws.on('open', () => {
    const hello: AgentMessage = {
      type: 'hello', protocol: PROTOCOL_VERSION, host: s.id, agentVersion: 'sim', place: 'sim', tags: [], facts: emptyFacts(), droppedEvents: 0,
      ...(s.credential ? { credential: s.credential } : { enrollmentToken: token }),
    };
    ws.send(encodeMessage(hello));
  });
  ws.on('message', (data: Buffer) => {
    if (ws !== s.ws) return;
    const m = parseHubMessage(data);
    if (m.type === 'welcome') {
      if (m.hostCredential) s.credential = m.hostCredential;
      // The hub forgetting something it acked is the loss this fault looks for.
      if (m.lastSeq < s.acked) s.ackedThenLost += s.acked - m.lastSeq;
      ackUpTo(s, m.lastSeq);
      s.welcomed = true;
      s.attempt = 0;
      heartbeatMs = m.heartbeatMs;
      s.connects++;
      pump(s);
    } else if (m.type === 'ack') {
      ackUpTo(s, m.seq);
      pump(s);
    } else if (m.type === 'error') {
      send({ log: `${s.id}: hub error ${m.code}: ${m.message}` });
    }
  });
  ws.on('error', () => undefined); // close follows
  ws.on('close', () => {
    if (ws !== s.ws) return;
    s.ws = null;
    s.welcomed = false;
    const cap = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** s.attempt++);
    setTimeout(() => connect(s), cap / 2 + Math.random() * (cap / 2));
  });
}

function counts() {
  return {
    sims: sims.length,
    welcomed: sims.filter((s) => s.welcomed).length,
    generated: sims.reduce((n, s) => n + s.nextSeq - 1, 0),
    acked: sims.reduce((n, s) => n + s.acked, 0),
    unacked: sims.reduce((n, s) => n + s.pending.length, 0),
    ackedThenLost: sims.reduce((n, s) => n + s.ackedThenLost, 0),
    reconnects: sims.reduce((n, s) => n + Math.max(0, s.connects - 1), 0),
  };
}

/** Each agent generates `perAgent` reports, one every `everyMs`, whether or not the hub is there. */
async function run(perAgent: number, everyMs: number): Promise<void> {
  generating = true;
  for (let k = 0; k < perAgent; k++) {
    for (const s of sims) {
      generate(s);
      pump(s);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  generating = false;
}

process.on('message', (msg: { cmd: string; url?: string; token?: string; n?: number; prefix?: string; perAgent?: number; everyMs?: number }) => {
  void (async () => {
    try {
      if (msg.cmd === 'connect') {
        url = msg.url!;
        token = msg.token!;
        for (let i = 0; i < msg.n!; i++) {
          const s: Sim = { id: `${msg.prefix}${String(i).padStart(4, '0')}`, address: `127.77.${Math.floor(i / 250)}.${(i % 250) + 1}`, ws: null, welcomed: false, credential: null, nextSeq: 1, acked: 0, pending: [], sentUpTo: 0, attempt: 0, events: [], lastStatusSeq: 0, connects: 0, ackedThenLost: 0 };
          sims.push(s);
          connect(s);
          if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20)); // not 1,000 handshakes in one tick
        }
        heartbeats();
        send({ started: true });
      } else if (msg.cmd === 'run') {
        void run(msg.perAgent!, msg.everyMs!).then(() => send({ generated: true }));
        send({ running: true });
      } else if (msg.cmd === 'counts') {
        send({ counts: { ...counts(), generating } });
      } else if (msg.cmd === 'ledger') {
        send({ ledger: sims.map((s) => ({ id: s.id, events: s.events, lastStatusSeq: s.lastStatusSeq, lastSeq: s.nextSeq - 1, acked: s.acked, ackedThenLost: s.ackedThenLost })) });
      } else if (msg.cmd === 'exit') {
        for (const s of sims) s.ws?.terminate();
        process.exit(0);
      }
    } catch (error) {
      send({ error: (error as Error).message });
    }
  })();
});
send({ ready: true });
