import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_FRAME_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, ProtocolVersionError, TAG_LIMITS, boundTags, hubIncompatibility, negotiateProtocol, parseAgentMessage, parseHubMessage } from '../../shared/protocol.ts';
import { STATUS_LIMITS } from '../../shared/status.ts';
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
  assert.equal(hubIncompatibility(PROTOCOL_VERSION), null);
  assert.equal(hubIncompatibility(MIN_PROTOCOL_VERSION), null);
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

test('negotiation picks the highest version both speak, or names who must upgrade', () => {
  const hub = { min: 3, max: 5 };
  assert.deepEqual(negotiateProtocol({ min: 1, max: 4 }, hub), { version: 4 });
  assert.deepEqual(negotiateProtocol({ min: 3, max: 3 }, hub), { version: 3 });
  assert.deepEqual(negotiateProtocol({ min: 4, max: 9 }, hub), { version: 5 }, 'a newer agent is negotiated down');
  assert.deepEqual(negotiateProtocol({ min: 1, max: 2 }, hub), { reason: 'agent-too-old' });
  assert.deepEqual(negotiateProtocol({ min: 6, max: 7 }, hub), { reason: 'hub-too-old' });
  assert.equal(hubIncompatibility(4, { min: 3, max: 5 }), null, 'the agent accepts any version inside its range');
  assert.equal(hubIncompatibility(2, { min: 3, max: 5 }), 'hub-too-old');
  assert.equal(hubIncompatibility(6, { min: 3, max: 5 }), 'agent-too-old');
  // A newer agent that still speaks this hub's version passes the version check.
  const newer = { ...hello, protocol: PROTOCOL_VERSION + 1, minProtocol: MIN_PROTOCOL_VERSION };
  assert.equal(parseAgentMessage(JSON.stringify(newer)).type, 'hello');
  assert.throws(
    () => parseAgentMessage(JSON.stringify({ ...hello, protocol: PROTOCOL_VERSION + 2, minProtocol: PROTOCOL_VERSION + 1 })),
    (e: unknown) => e instanceof ProtocolVersionError && e.reason === 'hub-too-old' && /agent speaks \d+–\d+, hub speaks/.test(e.message),
  );
});

test('tags are bounded in count, length and depth; stored tags over the bounds are cut at load', () => {
  const deep = Array.from({ length: TAG_LIMITS.depth + 1 }, (_, i) => `t${i}`).join('/');
  const cases: Array<[unknown[], RegExp]> = [
    [Array.from({ length: TAG_LIMITS.count + 1 }, (_, i) => `t${i}`), /tags: .*64/],
    [['x'.repeat(TAG_LIMITS.length + 1)], /tags\.0: .*256/],
    [[deep], /tags\.0: a tag has at most 16 path segments/],
  ];
  for (const [tags, message] of cases) {
    assert.throws(() => parseAgentMessage(JSON.stringify({ ...hello, tags })), (e: unknown) => isGitfleetError(e, 'PROTOCOL_INVALID') && message.test(e.message), String(message));
  }
  const ok = Array.from({ length: TAG_LIMITS.count }, (_, i) => Array.from({ length: TAG_LIMITS.depth }, () => `t${i}`).join('/'));
  assert.equal(parseAgentMessage(JSON.stringify({ ...hello, tags: ok })).type, 'hello');
  assert.deepEqual(boundTags(['a/b', deep, 'x'.repeat(300), ...ok]), ['a/b', ...ok.slice(0, TAG_LIMITS.count - 1)]);
});

test('diff values are bounded in size and depth', () => {
  const status = (value: unknown) => ({
    type: 'status',
    seq: 1,
    status: {
      host: 'web-01', place: '', tags: [], conditions: [], lastAppliedRevision: null, lastAttemptedRevision: null, attempts: [], updatedAt: 'now',
      resources: [{ id: 'file/x', sync: 'Drifted', health: 'Healthy', diff: [{ field: 'content', desired: value, live: null }] }],
    },
  });
  assert.equal(parseAgentMessage(JSON.stringify(status({ env: ['A=1', 'B=2'] }))).type, 'status');
  assert.equal(parseAgentMessage(JSON.stringify(status('x'.repeat(STATUS_LIMITS.diffValueLength)))).type, 'status');
  // 100,000 levels of nesting: within the frame limit, and deeper than any recursion would survive.
  const nested = JSON.stringify(status('NESTED')).replace('"NESTED"', '['.repeat(100_000) + ']'.repeat(100_000));
  for (const bad of [JSON.stringify(status('x'.repeat(STATUS_LIMITS.diffValueLength + 1))), nested, JSON.stringify(status(Array.from({ length: 2000 }, () => 0)))]) {
    assert.throws(() => parseAgentMessage(bad), (e: unknown) => isGitfleetError(e, 'PROTOCOL_INVALID') && /diff value is at most/.test(e.message));
  }
});
