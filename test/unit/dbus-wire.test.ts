// The D-Bus wire format the unit driver reads systemd's state with: method
// calls encoded as the specification lays them out, replies of any signature
// decoded in either byte order, and malformed messages refused rather than
// read past their end. (test/integration/units-dbus.test.ts talks to a real bus.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BusWireError, decodeMessage, encodeMethodCall, messageLength, MESSAGE_TYPE } from '../../agent/drivers/systemd/dbus-wire.ts';
import { showValue } from '../../agent/drivers/systemd/bus-unit-properties.ts';

test('a method call is laid out as the specification says: fixed header, 8-aligned fields, then the body', () => {
  const buf = encodeMethodCall({ serial: 7, destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'ListUnitsByNames', args: [['a.service', 'bc.timer']] });
  assert.equal(buf[0], 0x6c); // little-endian
  assert.equal(buf[1], MESSAGE_TYPE.methodCall);
  assert.equal(buf[3], 1); // protocol version
  assert.equal(buf.readUInt32LE(8), 7);
  const bodyLength = buf.readUInt32LE(4);
  // as: u32 byte length, then each string as u32 length, bytes, NUL (each 4-aligned).
  assert.equal(bodyLength, 4 + (4 + 9 + 1) + 2 + (4 + 8 + 1));
  assert.equal(messageLength(buf), buf.length);
  assert.equal((buf.length - bodyLength) % 8, 0, 'the body starts 8-aligned');
  const decoded = decodeMessage(buf);
  assert.equal(decoded.signature, 'as');
  assert.deepEqual(decoded.body, [['a.service', 'bc.timer']]);
  assert.equal(decoded.serial, 7);
});

test('string arguments and multi-byte text survive a round trip', () => {
  const buf = encodeMethodCall({ serial: 1, destination: 'd', path: '/p', interface: 'i.f', member: 'Get', args: ['org.freedesktop.systemd1.Unit', 'Id', 'grüße'] });
  assert.deepEqual(decodeMessage(buf).body, ['org.freedesktop.systemd1.Unit', 'Id', 'grüße']);
  assert.equal(decodeMessage(encodeMethodCall({ serial: 2, destination: 'd', path: '/p', interface: 'i.f', member: 'Hello' })).signature, '');
});

/** A reply built by hand, big-endian, with a struct array and variants: what systemd could send on a big-endian machine. */
function bigEndianReply(): Buffer {
  const parts: number[] = [];
  const align = (n: number) => {
    while (parts.length % n) parts.push(0);
  };
  const u32 = (v: number) => {
    align(4);
    parts.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  };
  const str = (s: string) => {
    u32(Buffer.byteLength(s));
    parts.push(...Buffer.from(s), 0);
  };
  const sig = (s: string) => parts.push(s.length, ...Buffer.from(s), 0);
  parts.push(0x42, MESSAGE_TYPE.methodReturn, 0, 1);
  u32(0); // body length, patched
  u32(99);
  u32(0); // fields length, patched
  const fieldsStart = parts.length;
  align(8);
  parts.push(5); // REPLY_SERIAL
  sig('u');
  u32(7);
  align(8);
  parts.push(8); // SIGNATURE
  sig('g');
  sig('a(sv)t');
  const fieldsLength = parts.length - fieldsStart;
  align(8);
  const bodyStart = parts.length;
  u32(0); // array length, patched
  const arrayLengthAt = parts.length - 4;
  align(8);
  const elementsStart = parts.length;
  align(8);
  str('NRestarts');
  sig('u');
  u32(3);
  align(8);
  str('TriggeredBy');
  sig('as');
  u32(0);
  const innerAt = parts.length - 4;
  const innerStart = parts.length;
  str('x.timer');
  str('y.socket');
  const innerLength = parts.length - innerStart;
  const arrayLength = parts.length - elementsStart;
  align(8);
  parts.push(0, 0, 0, 1, 0, 0, 0, 2); // t = 2^32 + 2
  const buf = Buffer.from(parts);
  buf.writeUInt32BE(buf.length - bodyStart, 4);
  buf.writeUInt32BE(fieldsLength, 12);
  buf.writeUInt32BE(arrayLength, arrayLengthAt);
  buf.writeUInt32BE(innerLength, innerAt);
  return buf;
}

test('a big-endian reply with a struct array, variants and a 64-bit number decodes', () => {
  const buf = bigEndianReply();
  assert.equal(messageLength(buf), buf.length);
  const m = decodeMessage(buf);
  assert.equal(m.type, MESSAGE_TYPE.methodReturn);
  assert.equal(m.replySerial, 7);
  assert.deepEqual(m.body, [
    [
      ['NRestarts', { signature: 'u', value: 3 }],
      ['TriggeredBy', { signature: 'as', value: ['x.timer', 'y.socket'] }],
    ],
    2n ** 32n + 2n,
  ]);
  // As `systemctl show` prints them.
  assert.deepEqual((m.body[0] as [string, unknown][]).map(([, v]) => showValue(v as never)), ['3', 'x.timer y.socket']);
  assert.equal(showValue(m.body[1]!), '4294967298');
  assert.deepEqual([showValue(true), showValue(false), showValue(-1), showValue([])], ['yes', 'no', '-1', '']);
});

test('malformed messages are refused, never read past their end', () => {
  const good = bigEndianReply();
  assert.throws(() => decodeMessage(good.subarray(0, good.length - 3)), BusWireError);
  const wrongOrder = Buffer.from(good);
  wrongOrder[0] = 0x78;
  assert.throws(() => messageLength(wrongOrder), /byte order/);
  // An array whose length claims more than the message holds.
  const overlong = Buffer.from(good);
  const bodyStart = good.length - good.readUInt32BE(4);
  overlong.writeUInt32BE(0x7fffffff, bodyStart);
  assert.throws(() => decodeMessage(overlong), /past the end/);
  // A signature with an unknown type code.
  const call = encodeMethodCall({ serial: 1, destination: 'd', path: '/p', interface: 'i.f', member: 'M', args: ['x'] });
  const sigAt = call.indexOf(Buffer.from([1, 0x73, 0])); // the SIGNATURE field's value: length 1, "s", NUL
  assert.ok(sigAt > 0);
  const badSig = Buffer.from(call);
  badSig[sigAt + 1] = 0x7a; // "z"
  assert.throws(() => decodeMessage(badSig), /unknown type code/);
  assert.equal(messageLength(good.subarray(0, 15)), null, 'a partial fixed header is not a length yet');
});
