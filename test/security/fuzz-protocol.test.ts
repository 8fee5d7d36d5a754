// Property-based fuzzing of the agent protocol against a real hub process over
// real WebSockets: mutated hello/status/event messages (a field replaced by
// any JSON value or deleted, an unknown key added), arbitrary JSON, deep
// nesting, oversize frames, raw text and binary frames — unauthenticated from
// one address, and after a real host's valid hello from another. After every
// case the hub must answer /healthz within a bound; at the end (and every 50
// cases) the host list must be exactly what it was, the fuzzed host's record
// must still read, and nothing may be logged at error level. Deterministic:
// FUZZ_SEED picks the seed (printed), FUZZ_RUNS the number of cases.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import WebSocket from 'ws';
import { ENROLL, api, makeStatus, removeDir, startHubProcess, tempDir, waitFor } from '../integration/hub-harness.ts';
import type { HubProcess } from '../integration/hub-harness.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { emptyFacts } from '../../agent/facts.ts';

const seed = Number(process.env.FUZZ_SEED ?? 20261130);
const numRuns = Number(process.env.FUZZ_RUNS ?? 500);
const HOST = 'fuzz-proto-01';
// Unauthenticated traffic comes from another loopback address, so per-address
// throttling of failed tokens cannot shut out the authenticated cases.
const STRANGER_ADDRESS = '127.0.0.2';
const dirs: string[] = [];
let hub: HubProcess;
let credential: string;
let hostsBefore: string[];

interface Socket {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  closed: Promise<number>;
}

function connect(localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Generous: a handshake that times out fails the run, and a loaded machine can be slow to answer one.
    const ws = new WebSocket(hub.agentUrl, { localAddress, handshakeTimeout: 15_000 });
    const messages: Array<Record<string, unknown>> = [];
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (d: Buffer) => {
      try {
        messages.push(JSON.parse(d.toString()) as Record<string, unknown>);
      } catch {
        messages.push({ unparsable: d.toString().slice(0, 100) });
      }
    });
    ws.on('error', () => undefined);
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

const hello = (extra: Record<string, unknown>) => ({ type: 'hello', protocol: PROTOCOL_VERSION, host: HOST, agentVersion: 'fuzz', place: '', tags: [], facts: emptyFacts(), droppedEvents: 0, ...extra });

before(async () => {
  const dataDir = tempDir('fuzz-proto-hub');
  dirs.push(dataDir);
  hub = await startHubProcess({ dataDir });
  // Enroll the one host the authenticated cases speak as.
  const s = await connect();
  s.ws.send(JSON.stringify(hello({ enrollmentToken: ENROLL })));
  const welcome = await waitFor('welcome', () => s.messages.find((m) => m.type === 'welcome'));
  credential = welcome.hostCredential as string;
  assert.ok(credential, 'enrollment gave no credential');
  s.ws.send(JSON.stringify({ type: 'status', seq: 1, status: makeStatus(HOST) }));
  await waitFor('ack', () => s.messages.find((m) => m.type === 'ack'));
  s.ws.close();
  await s.closed;
  hostsBefore = await hostIds();
});

after(async () => {
  await hub?.stop();
  dirs.forEach(removeDir);
});

async function hostIds(): Promise<string[]> {
  const r = await api<{ hosts: Array<{ id: string }> }>(hub.url, '/api/v1/hosts?limit=500');
  assert.equal(r.status, 200);
  return r.body.hosts.map((h) => h.id).sort();
}

// ---------------------------------------------------------------- arbitraries

type Json = unknown;
/** Every path to a value inside a JSON value (the root too). */
function paths(v: Json, at: Array<string | number> = []): Array<Array<string | number>> {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

interface Mutation {
  op: 'replace' | 'delete' | 'add';
  pick: number;
  value: Json;
  key: string;
}

function mutate(base: Json, m: Mutation): Json {
  const copy = structuredClone(base) as Record<string | number, Json>;
  const all = paths(copy).filter((p) => p.length > 0);
  const path = all[m.pick % all.length]!;
  let parent: Record<string | number, Json> = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (m.op === 'replace') parent[last] = m.value;
  else if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (!Array.isArray(parent)) parent[m.key] = m.value;
  return copy;
}

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const weird = fc.oneof(
  jsonValue,
  fc.constantFrom(-1, 0, 1e308, -0, 2 ** 53 + 1, 1.5, '', 'x'.repeat(5000), '\u202E\x1b[2J', [], {}, null, true, '__proto__'),
  fc.string({ unit: 'binary', maxLength: 200 }),
);
const mutation = fc.record({ op: fc.constantFrom('replace', 'delete', 'add') as fc.Arbitrary<Mutation['op']>, pick: fc.nat(), value: weird, key: fc.constantFrom('__proto__', 'constructor', 'extra', 'type', 'seq') });
const nowIso = () => new Date().toISOString();
const validStatus = (seq: number) => ({ type: 'status', seq, status: makeStatus(HOST, { sync: 'Drifted' }) });
const validEvent = (seq: number) => ({ type: 'event', seq, time: nowIso(), level: 'warning', reason: 'Fuzz', message: 'fuzz', resource: 'container/web' });

type Frame = { text: string } | { binary: Uint8Array };
const text = (value: Json): Frame => ({ text: JSON.stringify(value) });

const frame = (auth: boolean): fc.Arbitrary<Frame> =>
  fc.oneof(
    // A mutated hello: unauthenticated ones carry a wrong token or credential (never the right one).
    { weight: 4, arbitrary: fc.tuple(mutation, fc.string({ minLength: 1, maxLength: 40 }), fc.boolean()).map(([m, token, useCredential]) => text(mutate(hello(useCredential ? { credential: `x${token}` } : { enrollmentToken: `x${token}` }), m))) },
    { weight: 4, arbitrary: fc.tuple(mutation, fc.nat({ max: 1e6 })).map(([m, seq]) => text(mutate(validStatus(seq + 2), m))) },
    { weight: 3, arbitrary: fc.tuple(mutation, fc.nat({ max: 1e6 })).map(([m, seq]) => text(mutate(validEvent(seq + 2), m))) },
    // Valid messages out of place (a second hello, a status before hello).
    { weight: 1, arbitrary: fc.nat({ max: 1e6 }).map((seq) => text(auth ? hello({ credential }) : validStatus(seq + 2))) },
    { weight: 2, arbitrary: jsonValue.map(text) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }).map((t) => ({ text: t })) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 200_000 }).map((n) => ({ text: '['.repeat(n) + ']'.repeat(n) })) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((n) => ({ text: '{"type":'.repeat(n) + '1' + '}'.repeat(n) })) },
    // Numbers JSON.parse reads as Infinity or loses precision.
    { weight: 1, arbitrary: fc.constantFrom('1e999', '-1e999', '99999999999999999999', '-0', '1.0000000000000002').map((n) => ({ text: JSON.stringify(validStatus(2)).replace('"seq":2', `"seq":${n}`) })) },
    // Just over the 1 MiB frame limit.
    { weight: 1, arbitrary: fc.constant({ text: JSON.stringify({ ...validEvent(3), message: 'x'.repeat(1024 * 1024 + 10) }) }) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((b) => ({ binary: b })) },
  );

const session = fc.boolean().chain((auth) => fc.record({ auth: fc.constant(auth), frames: fc.array(frame(auth), { minLength: 1, maxLength: 4 }) }));

async function runSession(c: { auth: boolean; frames: Frame[] }): Promise<void> {
  const s = await connect(c.auth ? '127.0.0.1' : STRANGER_ADDRESS);
  try {
    if (c.auth) {
      s.ws.send(JSON.stringify(hello({ credential })));
      await waitFor('welcome', () => s.messages.find((m) => m.type === 'welcome' || m.type === 'error'));
    }
    for (const f of c.frames) {
      if (s.ws.readyState !== WebSocket.OPEN) break;
      if ('binary' in f) s.ws.send(f.binary, { binary: true });
      else s.ws.send(f.text);
    }
    // Give the hub a moment to act on the frames (or close on them).
    await Promise.race([s.closed, new Promise((r) => setTimeout(r, 40))]);
  } finally {
    s.ws.terminate();
  }
}

async function healthy(boundMs = 2000): Promise<void> {
  const started = performance.now();
  const res = await fetch(`${hub.url}/healthz`, { signal: AbortSignal.timeout(boundMs) });
  assert.equal(res.status, 200);
  const ms = performance.now() - started;
  assert.ok(ms < boundMs, `/healthz took ${ms.toFixed(0)} ms`);
}

test('the hub survives arbitrary and near-valid agent frames, stays responsive, and stores nothing it should not', async (t) => {
  t.diagnostic(`seed ${seed}, ${numRuns} sessions (FUZZ_SEED=${seed} FUZZ_RUNS=${numRuns} to rerun)`);
  const started = performance.now();
  let count = 0;
  await fc.assert(
    fc.asyncProperty(session, async (c) => {
      await runSession(c);
      await healthy();
      if (++count % 50 === 0) assert.deepEqual(await hostIds(), hostsBefore, 'the host list changed');
    }),
    { seed, numRuns, endOnFailure: true, timeout: 20_000, includeErrorInReport: true },
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await hostIds(), hostsBefore, 'a host appeared or vanished');
  const detail = await api<{ summary: { id: string } }>(hub.url, `/api/v1/hosts/${HOST}`);
  assert.equal(detail.status, 200);
  assert.equal(detail.body.summary.id, HOST);
  const errors = hub.logs.filter((l) => typeof l.level === 'number' && l.level >= 50);
  assert.deepEqual(errors, [], 'the hub logged errors');
  // A real agent still gets in after all that.
  const s = await connect();
  s.ws.send(JSON.stringify(hello({ credential })));
  const answer = await waitFor('welcome', () => s.messages.find((m) => m.type === 'welcome' || m.type === 'error'));
  s.ws.close();
  assert.equal(answer.type, 'welcome', JSON.stringify(answer));
  t.diagnostic(`${numRuns} sessions in ${((performance.now() - started) / 1000).toFixed(1)} s; ${hub.logs.length} log lines`);
});
