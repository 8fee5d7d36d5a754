// A live-update client that never reads must not grow the hub: a real hub
// process, hosts reporting tags at every bound (so each `change` event is
// megabytes), one SSE client that reads nothing and one that reads. The hub's
// RSS is measured (its own process_resident_memory_bytes) while they run.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { VIEWER, api, removeDir, startHubProcess, tempDir, waitFor } from '../integration/hub-harness.ts';
import type { HubProcess } from '../integration/hub-harness.ts';
import { TAG_LIMITS } from '../../shared/protocol.ts';
import { SSE_LIMITS } from '../../hub/api/event-stream-route.ts';
import { MiB, metric, rawAgent } from './agent-abuse-kit.ts';
import type { RawAgent } from './agent-abuse-kit.ts';

let hub: HubProcess;
const HEAP_LIMIT_MIB = 128;
const dataDir = tempDir('sse');
before(async () => {
  // A heap limit below what the stream carries (~120 MiB in 20 s): a hub that kept what a non-reader
  // does not read would die of it; one that drops the reader stays under it (and its RSS stops growing).
  hub = await startHubProcess({ dataDir, env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_LIMIT_MIB}` } });
});
after(async () => {
  await hub.stop();
  removeDir(dataDir);
});

const tagsOf = (host: number) =>
  Array.from({ length: TAG_LIMITS.count }, (_, i) => Array.from({ length: TAG_LIMITS.depth }, (_, d) => `h${host}-${i}-${d}-`.padEnd(15, 'x')).join('/'));

/** An SSE client that sends its request and then never reads a byte. */
function stalledClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${VIEWER}\r\nAccept: text/event-stream\r\n\r\n`);
      socket.pause();
      resolve(socket);
    });
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

test('an SSE client that never reads is closed at the buffer bound; hub memory stays bounded; a reading client keeps up', async () => {
  const rss = () => metric(hub.url, VIEWER, 'process_resident_memory_bytes');
  const hosts: RawAgent[] = [];
  for (let h = 0; h < 10; h++) hosts.push(await rawAgent(hub.agentUrl, `sse-host-${h}`, { enrollmentToken: 'enroll-token-0123456789abcdef', tags: tagsOf(h) }));
  const summaryBytes = Buffer.byteLength(JSON.stringify((await api(hub.url, '/api/v1/summary', { token: VIEWER })).body));

  const stalled = await stalledClient(hub.port);
  // A client that reads: it must keep receiving while the other one stalls.
  const reader = new AbortController();
  let readBytes = 0;
  const reading = (async () => {
    const res = await fetch(`${hub.url}/api/v1/events`, { headers: { authorization: `Bearer ${VIEWER}` }, signal: reader.signal });
    const stream = res.body!.getReader();
    for (;;) {
      const { value, done } = await stream.read();
      if (done) break;
      readBytes += value.byteLength;
    }
  })().catch(() => undefined);

  const before = await rss();
  let seq = 0;
  const started = Date.now();
  let peak = before;
  let firstHalfPeak = before;
  while (Date.now() - started < 20_000) {
    if (Date.now() - started < 10_000) firstHalfPeak = Math.max(firstHalfPeak, await rss());
    // Every host reports every 250 ms: a `change` event with every summary, four times a second.
    seq++;
    for (const [h, a] of hosts.entries()) {
      const now = new Date().toISOString();
      a.ws.send(JSON.stringify({ type: 'status', seq, status: { host: `sse-host-${h}`, place: '', tags: [], conditions: [{ type: 'Ready', status: seq % 2 === 0, reason: 'Converged', message: `n${seq}`, lastTransitionTime: now }], lastAppliedRevision: null, lastAttemptedRevision: null, resources: [], attempts: [], updatedAt: now } }));
    }
    await new Promise((r) => setTimeout(r, 250));
    peak = Math.max(peak, await rss());
  }
  const dropped = await metric(hub.url, VIEWER, 'gitfleet_hub_sse_dropped_total', { reason: 'slow' });
  const growth = peak - before;
  const lateGrowth = peak - firstHalfPeak;
  console.log(
    `SSE non-reader: fleet summary ${(summaryBytes / MiB).toFixed(2)} MiB; the reading client got ${(readBytes / MiB).toFixed(1)} MiB in 20 s (what a non-reader would pile up without the bound); ` +
      `hub RSS ${(before / MiB).toFixed(0)} → ${(firstHalfPeak / MiB).toFixed(0)} MiB peak in the first 10 s → ${(peak / MiB).toFixed(0)} MiB peak over 20 s (growth ${(growth / MiB).toFixed(1)} MiB, ${(lateGrowth / MiB).toFixed(1)} MiB in the last 10 s); ${dropped} slow stream(s) dropped`,
  );
  reader.abort();
  await reading;
  stalled.destroy();
  hosts.forEach((a) => a.ws.close());
  assert.ok(dropped >= 1, 'the stalled client is dropped');
  // Garbage from serializing megabyte events makes the first seconds' RSS noisy; what the bound guarantees is that it levels off.
  assert.ok(lateGrowth < 32 * MiB, `RSS grew ${lateGrowth} bytes in the last 10 s`);
  assert.ok(growth < readBytes, `RSS grew ${growth} bytes, the stream carried ${readBytes}`);
  assert.ok(readBytes > 4 * SSE_LIMITS.bufferedBytes, `the reader got ${readBytes} bytes`);
  await waitFor('the stream gauge to count the closed streams', async () => (await metric(hub.url, VIEWER, 'gitfleet_hub_sse_clients')) === 0);
});

test(`more than ${SSE_LIMITS.clients} streams are refused with 503 STREAM_LIMIT`, async () => {
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < SSE_LIMITS.clients; i++) sockets.push(await stalledClient(hub.port));
    await waitFor('every stream to be open', async () => (await metric(hub.url, VIEWER, 'gitfleet_hub_sse_clients')) === SSE_LIMITS.clients);
    const res = await fetch(`${hub.url}/api/v1/events`, { headers: { authorization: `Bearer ${VIEWER}` } });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'STREAM_LIMIT');
  } finally {
    sockets.forEach((s) => s.destroy());
  }
  await waitFor('the streams to close', async () => (await metric(hub.url, VIEWER, 'gitfleet_hub_sse_clients')) === 0);
  const again = new AbortController();
  const res = await fetch(`${hub.url}/api/v1/events`, { headers: { authorization: `Bearer ${VIEWER}` }, signal: again.signal });
  assert.equal(res.status, 200);
  again.abort();
});
