// The unit driver reads the units' state over the D-Bus system bus, and asks
// `systemctl show` instead whenever the bus cannot answer: no socket (minimal
// images run systemd without dbus), a bus that refuses us, one that never
// answers, one that sends garbage. Each case here is a local socket playing
// that bus, and a `run` that answers `systemctl show` as systemd would.
// (A real bus: test/contract/units.test.ts and test/integration/units-dbus.test.ts.)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createSystemctlUnitDriver } from '../../agent/drivers/systemd/index.ts';
import type { CommandResult } from '../../agent/drivers/systemd/command-runner.ts';
import { tempDir } from '../harness/git-servers.ts';
import { decodeMessage, messageLength } from '../../agent/drivers/systemd/dbus-wire.ts';

const dir = tempDir('units-bus');
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

const shown = 'Id=gf-web.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nResult=success\nNRestarts=2\nType=simple\n';

function fakeSystemctl(calls: string[][]) {
  return async (argv: string[]): Promise<CommandResult> => {
    calls.push(argv);
    if (argv[1] === 'show') return { code: 0, stdout: `${shown}\n`, stderr: '' };
    return { code: 0, stdout: '', stderr: '' };
  };
}

/** A unix socket that does `behave` with each connection, standing in for the system bus. */
async function fakeBus(name: string, behave: (socket: Socket) => void): Promise<string> {
  const path = join(dir, name);
  const server = createServer(behave);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return path;
}

async function observeWith(busSocket: string, busTimeoutMs = 2000) {
  const calls: string[][] = [];
  const driver = createSystemctlUnitDriver({ unitDir: dir, run: fakeSystemctl(calls), busSocket, busTimeoutMs });
  const started = Date.now();
  const [unit] = await driver.observe(['gf-web.service']);
  return { unit: unit!, calls, ms: Date.now() - started };
}

function assertFromSystemctl(r: Awaited<ReturnType<typeof observeWith>>): void {
  assert.deepEqual([r.unit.activeState, r.unit.subState, r.unit.unitFileState, r.unit.nRestarts], ['active', 'running', 'enabled', 2]);
  assert.equal(r.calls.filter((c) => c[1] === 'show').length, 1, 'systemctl show answered instead');
}

test('no bus socket on the host: the state comes from systemctl show', async () => {
  assertFromSystemctl(await observeWith(join(dir, 'no-such-socket')));
});

test('a bus that refuses the authentication: systemctl show', async () => {
  const path = await fakeBus('refusing', (s) => s.once('data', () => s.write('REJECTED EXTERNAL\r\n')));
  assertFromSystemctl(await observeWith(path));
});

test('a bus that never answers: systemctl show, once the bus timeout has passed; the next looks do not wait for it again', async () => {
  let connections = 0;
  const path = await fakeBus('silent', () => void connections++);
  const calls: string[][] = [];
  const driver = createSystemctlUnitDriver({ unitDir: dir, run: fakeSystemctl(calls), busSocket: path, busTimeoutMs: 300 });
  let started = Date.now();
  await driver.observe(['gf-web.service']);
  const first = Date.now() - started;
  assert.ok(first >= 300 && first < 5000, `the first look took ${first} ms`);
  started = Date.now();
  const [unit] = await driver.observe(['gf-web.service']);
  const second = Date.now() - started;
  assert.ok(second < 250, `the second look took ${second} ms: it waited for the bus again`);
  assert.equal(unit?.activeState, 'active');
  assert.equal(connections, 1, 'the bus was asked once');
  assert.equal(calls.filter((c) => c[1] === 'show').length, 2);
});

test('a bus that authenticates and then sends garbage: systemctl show', async () => {
  const path = await fakeBus('garbage', (s) =>
    s.on('data', (chunk: Buffer) => {
      if (chunk.includes('AUTH')) s.write('OK 0123456789abcdef0123456789abcdef\r\n');
      else if (chunk.includes('BEGIN')) s.write(Buffer.alloc(64, 0x78));
    }),
  );
  assertFromSystemctl(await observeWith(path));
});

test('a bus that announces a huge message: refused at its header, systemctl show', async () => {
  const path = await fakeBus('huge', (s) =>
    s.on('data', (chunk: Buffer) => {
      if (chunk.includes('AUTH')) s.write('OK 0123456789abcdef0123456789abcdef\r\n');
      else if (chunk.includes('BEGIN')) {
        const header = Buffer.alloc(16);
        header.write('l', 0);
        header[1] = 2;
        header[3] = 1;
        header.writeUInt32LE(512 * 1024 * 1024, 4); // body length
        header.writeUInt32LE(1, 8);
        s.write(header);
      }
    }),
  );
  const r = await observeWith(path, 5000);
  assertFromSystemctl(r);
  assert.ok(r.ms < 4000, `the announced size alone ended it (took ${r.ms} ms)`);
});

/** A method return carrying one string, as the bus answers Hello (little-endian). */
function methodReturn(replySerial: number, text: string): Buffer {
  const b = Buffer.alloc(64 + text.length);
  b.write('l', 0);
  b[1] = 2;
  b[3] = 1;
  b.writeUInt32LE(1, 8);
  let at = 16;
  b[at] = 5; // REPLY_SERIAL, variant "u"
  b.write('\x01u\x00', at + 1, 'latin1');
  b.writeUInt32LE(replySerial, at + 4);
  at += 8;
  b[at] = 8; // SIGNATURE, variant "g" holding "s"
  b.write('\x01g\x00\x01s\x00', at + 1, 'latin1');
  at += 7;
  b.writeUInt32LE(at - 16, 12);
  at += (8 - (at % 8)) % 8;
  const bodyStart = at;
  b.writeUInt32LE(text.length, at);
  b.write(text, at + 4, 'latin1');
  at += 4 + text.length + 1;
  b.writeUInt32LE(at - bodyStart, 4);
  return b.subarray(0, at);
}

test('a bus that says Hello and then never answers a call: systemctl show, once the bus timeout has passed', async () => {
  let calls = 0;
  const path = await fakeBus('hello-only', (s) => {
    let inbox = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      if (chunk.includes('AUTH')) return void s.write('OK 0123456789abcdef0123456789abcdef\r\n');
      const text = chunk.toString('latin1');
      inbox = Buffer.concat([inbox, text.startsWith('BEGIN\r\n') ? chunk.subarray(7) : chunk]);
      for (let n = messageLength(inbox); n !== null && inbox.length >= n; n = messageLength(inbox)) {
        const message = decodeMessage(inbox.subarray(0, n));
        inbox = inbox.subarray(n);
        if (++calls === 1) s.write(methodReturn(message.serial, ':1.42')); // Hello; nothing after it
      }
    });
  });
  const r = await observeWith(path, 400);
  assertFromSystemctl(r);
  assert.ok(calls >= 2, `the agent got past Hello to its calls (${calls} messages)`);
  assert.ok(r.ms >= 400 && r.ms < 5000, `took ${r.ms} ms`);
});
