// Helpers for the abuse tests: a hostile agent as a raw WebSocket client (it
// sends what no real agent would), latency percentiles of real HTTP requests,
// and what the hub stored for one host, read from its SQLite file.
import WebSocket from 'ws';
import Database from 'better-sqlite3';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { emptyFacts } from '../../agent/facts.ts';
import { ENROLL, api } from '../integration/hub-harness.ts';

export interface RawAgent {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

export function helloFrame(host: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, host, agentVersion: 'hostile', place: '', tags: [], facts: emptyFacts(), droppedEvents: 0, ...extra });
}

/** Opens a socket and sends a hello; resolves once the hub answered (welcome or error). */
export async function rawAgent(agentUrl: string, host: string, extra: Record<string, unknown> = { enrollmentToken: ENROLL }): Promise<RawAgent> {
  const ws = new WebSocket(agentUrl, { perMessageDeflate: false, maxPayload: 1024 * 1024 });
  const messages: Array<Record<string, unknown>> = [];
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
    ws.once('error', reject);
  });
  ws.send(helloFrame(host, extra));
  const deadline = Date.now() + 10_000;
  while (!messages.some((m) => m.type === 'welcome' || m.type === 'error') && ws.readyState === WebSocket.OPEN) {
    if (Date.now() > deadline) throw new Error(`no answer to the hello of ${host}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { ws, messages, closed };
}

export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

/** `n` sequential requests; milliseconds at the 50th and 99th percentile. */
export async function latency(url: string, path: string, n: number, token: string | null = null): Promise<Latency> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const r = await api(url, path, { token });
    times.push(performance.now() - started);
    if (r.status !== 200) throw new Error(`${path} answered ${r.status}`);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99), max: times[times.length - 1]! };
}

export const fmt = (l: Latency) => `p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms`;

export interface StoredBytes {
  status: number;
  facts: number;
  tags: number;
  events: number;
  attempts: number;
  total: number;
  eventRows: number;
  attemptRows: number;
}

/** Bytes the hub keeps for one host in its SQLite file (the JSON it stores, not page overhead). */
export function storedBytes(file: string, host: string): StoredBytes {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const h = db
      .prepare<[string], { status: number | null; facts: number | null; tags: number | null }>(
        'SELECT length(CAST(status AS BLOB)) AS status, length(CAST(facts AS BLOB)) AS facts, length(CAST(tags AS BLOB)) AS tags FROM hosts WHERE id = ?',
      )
      .get(host);
    const e = db
      .prepare<[string], { bytes: number | null; n: number }>(
        "SELECT SUM(length(CAST(message AS BLOB)) + length(CAST(reason AS BLOB)) + length(CAST(COALESCE(resource, '') AS BLOB)) + length(time)) AS bytes, COUNT(*) AS n FROM events WHERE host = ?",
      )
      .get(host)!;
    const a = db.prepare<[string], { bytes: number | null; n: number }>('SELECT SUM(length(CAST(body AS BLOB))) AS bytes, COUNT(*) AS n FROM attempts WHERE host = ?').get(host)!;
    const out = { status: h?.status ?? 0, facts: h?.facts ?? 0, tags: h?.tags ?? 0, events: e.bytes ?? 0, attempts: a.bytes ?? 0, eventRows: e.n, attemptRows: a.n };
    return { ...out, total: out.status + out.facts + out.tags + out.events + out.attempts };
  } finally {
    db.close();
  }
}

/** One sample of a Prometheus metric (summed over label sets matching `labels`). */
export async function metric(url: string, token: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const r = await api<string>(url, '/metrics', { token });
  let sum = 0;
  for (const line of String(r.body).split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

export const MiB = 1024 * 1024;
