import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, ProtocolVersionError, agentIncompatibility, hubIncompatibility, parseAgentMessage, parseHubMessage } from '../../shared/protocol.ts';
import { isGitfleetError } from '../../shared/errors.ts';
import { emptyFacts } from '../../agent/facts.ts';

const hello = { type: 'hello', protocol: PROTOCOL_VERSION, host: 'web-01', agentVersion: '1', place: '', tags: [], facts: emptyFacts(new Date(0)), droppedEvents: 0, enrollmentToken: 't' };

test('every agent message type round-trips through the parser', () => {
  const messages = [
    hello,
    { type: 'event', seq: 3, time: 'now', level: 'warning', reason: 'Drift', message: 'x', resource: 'container/web' },
    { type: 'heartbeat' },
  ];
  for (const m of messages) assert.deepEqual(parseAgentMessage(JSON.stringify(m)), m);
  assert.deepEqual(parseAgentMessage(Buffer.from(JSON.stringify(hello))), hello);
});

test('every hub message type round-trips', () => {
  for (const m of [
    { type: 'welcome', protocol: PROTOCOL_VERSION, serverTime: 'now', heartbeatMs: 30000, lastSeq: 4, hostCredential: 'c' },
    { type: 'reconcile-now', reason: 'push' },
    { type: 'ack', seq: 9 },
    { type: 'error', code: 'HOST_CLAIMED', message: 'no' },
  ]) assert.deepEqual(parseHubMessage(JSON.stringify(m)), m);
});

test('bad frames are PROTOCOL_INVALID naming the cause', () => {
  const cases: Array<[string | Buffer, RegExp]> = [
    ['{nope', /not JSON/],
    [Buffer.from([0xff, 0xfe, 0x7b]), /not UTF-8/],
    [JSON.stringify({ type: 'teleport' }), /invalid teleport message/],
    [JSON.stringify({ ...hello, host: '../etc' }), /host/],
    [JSON.stringify({ type: 'status', seq: -1, status: {} }), /seq/],
    ['"' + 'x'.repeat(MAX_FRAME_BYTES) + '"', /over the 1048576-byte limit/],
  ];
  for (const [frame, message] of cases) {
    assert.throws(() => parseAgentMessage(frame), (e: unknown) => isGitfleetError(e, 'PROTOCOL_INVALID') && message.test(e.message), String(message));
  }
});

test('incompatible versions get a named reason on both sides, before schema checks', () => {
  assert.equal(agentIncompatibility(PROTOCOL_VERSION), null);
  assert.equal(agentIncompatibility(PROTOCOL_VERSION + 1), 'hub-too-old');
  assert.equal(agentIncompatibility(0), 'agent-too-old');
  assert.equal(hubIncompatibility(PROTOCOL_VERSION + 1), 'agent-too-old');
  assert.equal(hubIncompatibility(0), 'hub-too-old');
  // A newer agent's hello with fields this hub does not know still gets the version error.
  assert.throws(
    () => parseAgentMessage(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION + 1, brandNew: {} })),
    (e: unknown) => e instanceof ProtocolVersionError && e.code === 'PROTOCOL_VERSION' && e.reason === 'hub-too-old' && /upgrade the hub/.test(e.message),
  );
  assert.throws(
    () => parseHubMessage(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION + 1 })),
    (e: unknown) => e instanceof ProtocolVersionError && e.reason === 'agent-too-old',
  );
});
