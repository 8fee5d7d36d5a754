// The test harness's fault-injecting TCP proxy (test/harness/flaky-proxy.ts)
// against a real echo server on loopback: each fault does what the link tests
// rely on, and the byte counters count what went through.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { FlakyProxy } from '../harness/flaky-proxy.ts';

const echo = createServer((s) => { s.on('error', () => undefined); s.pipe(s); });
await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
const proxy = new FlakyProxy({ host: '127.0.0.1', port: (echo.address() as AddressInfo).port });
await proxy.start();
after(async () => {
  await proxy.stop();
  echo.close();
});

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: proxy.port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends `text`, resolves with the echo and how long it took (or the error / close that ended it; 'timeout' after `timeoutMs`, generous by default for a loaded machine). */
function roundTrip(s: Socket, text: string, timeoutMs = 10_000): Promise<{ ms: number; got: string; ended: string | null }> {
  const started = Date.now();
  return new Promise((resolve) => {
    let got = '';
    const done = (ended: string | null) => {
      clearTimeout(timer);
      s.removeAllListeners('data');
      resolve({ ms: Date.now() - started, got, ended });
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    s.on('data', (b: Buffer) => { got += b.toString(); if (got.length >= text.length) done(null); });
    s.once('close', () => done('closed'));
    s.once('error', (e) => done(e.message));
    s.write(text);
  });
}

test('a good link forwards both ways and counts bytes each way', async () => {
  proxy.resetBytes();
  const s = await open();
  const r = await roundTrip(s, 'hello');
  assert.deepEqual(r, { ms: r.ms, got: 'hello', ended: null });
  assert.deepEqual(proxy.bytes, { up: 5, down: 5 });
  s.destroy();
});

test('latency is added per chunk in each direction', async () => {
  proxy.latencyMs = 200;
  const s = await open();
  const r = await roundTrip(s, 'ping');
  proxy.latencyMs = 0;
  assert.equal(r.got, 'ping');
  assert.ok(r.ms >= 390, `a round trip through 200 ms each way took ${r.ms} ms`);
  s.destroy();
});

test('a stall holds data without closing, then delivers it', async () => {
  const s = await open();
  proxy.stall(600);
  const r = await roundTrip(s, 'held');
  assert.equal(r.ended, null, 'the connection survived the stall');
  assert.equal(r.got, 'held');
  assert.ok(r.ms >= 550, `delivered after the stall (${r.ms} ms)`);
  s.destroy();
});

test('cutAfter forwards exactly K bytes, then destroys the connection', async () => {
  const s = await open();
  proxy.resetBytes();
  proxy.cutAfter(3, 'down');
  const r = await roundTrip(s, 'abcdef');
  assert.equal(r.ended, 'closed');
  assert.equal(r.got, 'abc');
  assert.equal(proxy.bytes.down, 3);
  assert.equal(proxy.cutArmed, false, 'a cut fires once');
  const again = await open();
  assert.equal((await roundTrip(again, 'next')).got, 'next', 'the next connection works');
  again.destroy();
});

test('an outage refuses (reset) or black-holes (silence), and restore() brings the link back', async () => {
  const live = await open();
  proxy.outage('refuse');
  const cut = (await roundTrip(live, 'x')).ended;
  assert.ok(cut !== null && cut !== 'timeout', `a live connection dies in a refusing outage (it ended: ${cut})`);
  const refused = await new Promise<string>((resolve) => {
    const s = connect({ host: '127.0.0.1', port: proxy.port });
    s.on('data', () => resolve('data'));
    s.once('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
    s.once('close', () => resolve('closed'));
  });
  assert.match(refused, /ECONNRESET|closed/);
  proxy.outage('blackhole');
  const hole = await open();
  assert.equal((await roundTrip(hole, 'void', 800)).ended, 'timeout', 'accepted, never answered');
  proxy.restore();
  assert.equal((await roundTrip(hole, 'still', 500)).ended, 'timeout', 'a black-holed connection stays dead');
  hole.destroy();
  const back = await open();
  assert.equal((await roundTrip(back, 'back')).got, 'back');
  back.destroy();
});

test('a rate limit trickles a transfer at that bandwidth', async () => {
  proxy.rateBytesPerSec = 20_000;
  const s = await open();
  const r = await roundTrip(s, 'x'.repeat(10_000), 15_000);
  proxy.rateBytesPerSec = 0;
  assert.equal(r.got.length, 10_000);
  // 10 kB up then 10 kB down at 20 kB/s each way, pipelined: about half a second, never instant; and not ten
  // times that (each 50 ms slice waits on a timer armed when the last fired, so a loaded machine adds its lateness 20 times).
  assert.ok(r.ms >= 450 && r.ms < 5000, `10 kB through 20 kB/s took ${r.ms} ms`);
  s.destroy();
});
