// A flood of WebSocket connections to /agent that never say hello: the hub
// holds at most 256 of them (32 per remote address) and answers 503 at the
// upgrade beyond that, its memory stays bounded (measured and printed), the
// hello deadline frees the slots, and a real agent from another address
// connects while the flood is on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ENROLL, api, removeDir, startAgent, startHubProcess, tempDir, waitFor } from '../integration/hub-harness.ts';
import type { AgentProcess, HubProcess } from '../integration/hub-harness.ts';

const dir = tempDir('enroll-flood');
let hub: HubProcess | null = null;
let agent: AgentProcess | null = null;
const sockets: WebSocket[] = [];

before(async () => {
  // Heartbeats 10 s apart: the silence sweep (3 heartbeats) comes after the hello deadline (10 s), so the held
  // sockets stay held for 10 s, time for a loaded machine to start the real agent between the two floods.
  hub = await startHubProcess({ dataDir: join(dir, 'hub'), env: { GITFLEET_HUB_HEARTBEAT: '10s' } });
});

after(async () => {
  for (const ws of sockets) ws.terminate();
  await agent?.stop();
  await hub?.stop();
  removeDir(dir);
});

type Outcome = { kind: 'open'; ws: WebSocket; closed: Promise<number> } | { kind: 'refused'; status: number } | { kind: 'error'; message: string };

/** One upgrade from `from` that never sends a frame. */
function idleSocket(from: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(hub!.agentUrl, { localAddress: from, handshakeTimeout: 10_000 });
    sockets.push(ws);
    ws.on('error', (e) => resolve({ kind: 'error', message: e.message }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ kind: 'refused', status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => resolve({ kind: 'open', ws, closed: new Promise((r) => ws.once('close', (code) => r(code))) }));
  });
}

async function flood(addresses: string[], perAddress: number): Promise<Outcome[]> {
  return Promise.all(addresses.flatMap((from) => Array.from({ length: perAddress }, () => idleSocket(from))));
}

async function rssBytes(): Promise<number> {
  const r = await api<string>(hub!.url, '/metrics');
  const m = /^process_resident_memory_bytes (\d+(\.\d+)?(e\+\d+)?)$/m.exec(r.body);
  assert.ok(m, 'the hub exports process_resident_memory_bytes');
  return Number(m[1]);
}

const mib = (b: number) => (b / 1024 / 1024).toFixed(1);

test('idle unauthenticated sockets: capped per address and in total, 503 beyond, memory bounded, a real agent still connects', async () => {
  const before = await rssBytes();
  // One address: 32 held, the rest refused at the upgrade.
  const one = await flood(['127.0.0.2'], 300);
  const oneOpen = one.filter((o) => o.kind === 'open');
  const oneRefused = one.filter((o) => o.kind === 'refused');
  assert.equal(oneOpen.length, 32, 'per-address cap');
  assert.equal(oneRefused.length, 268);
  assert.ok(oneRefused.every((o) => o.kind === 'refused' && o.status === 503));
  let oneClosed = 0;
  for (const o of oneOpen) if (o.kind === 'open') void o.closed.then(() => oneClosed++);

  // A real agent from another address connects while those are held.
  agent = await startAgent({ hubUrl: hub!.agentUrl, host: 'flood-real', stateDir: join(dir, 'agent'), token: ENROLL });
  await waitFor('the real agent to connect during the flood', () => agent!.connected(), 15_000);

  // Many addresses: at most 256 held in total.
  const addresses = Array.from({ length: 12 }, (_, i) => `127.0.1.${i + 1}`);
  const many = await flood(addresses, 40);
  const manyOpen = many.filter((o) => o.kind === 'open').length;
  const manyRefused = many.filter((o) => o.kind === 'refused').length;
  assert.equal(oneClosed, 0, 'the first 32 were still held when the second flood was answered (not: more than the 10 s hello deadline between them)');
  assert.equal(oneOpen.length + manyOpen, 256, 'the total cap');
  assert.equal(manyRefused, 12 * 40 - manyOpen);
  assert.ok(many.every((o) => o.kind !== 'error'), 'every attempt was answered (open or 503)');
  const during = await rssBytes();
  const attempts = one.length + many.length;
  process.stdout.write(
    `# flood of ${attempts} idle /agent upgrades (${oneOpen.length + manyOpen} held, ${oneRefused.length + manyRefused} refused 503): hub RSS ${mib(before)} -> ${mib(during)} MiB (+${mib(during - before)} MiB)\n`,
  );
  assert.ok(during - before < 64 * 1024 * 1024, `hub RSS grew ${mib(during - before)} MiB`);
  assert.equal(agent.connected(), true, 'the agent stayed connected');
  await waitFor('the hub to log the refusals', () => hub!.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('refused with 503')), 10_000);

  // The hello deadline (10 s; AUTH_FAILED, 4001) or the silence sweep (3 heartbeats, 30 s here; 4004) closes the idle ones and frees the slots.
  const codes = await Promise.all([...oneOpen, ...many.filter((o) => o.kind === 'open')].map((o) => (o.kind === 'open' ? o.closed : Promise.resolve(0))));
  assert.ok(codes.every((c) => c === 4001 || c === 4004), `close codes ${[...new Set(codes)].join(',')}`);
  const again = await idleSocket('127.0.0.2');
  assert.equal(again.kind, 'open', 'slots are free again after the deadline');
  if (again.kind === 'open') again.ws.terminate();
  const status = await api<{ hosts: Array<{ id: string; connectivity: string }> }>(hub!.url, '/api/v1/hosts');
  assert.equal(status.body.hosts.find((h) => h.id === 'flood-real')?.connectivity, 'Online');
});
