// Protocol negotiation against a real hub process: an agent at the oldest
// version the hub speaks is served, a newer agent that still speaks the hub's
// version is negotiated down, and ranges that do not meet are refused with
// the named reason.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ENROLL, removeDir, startHubProcess, tempDir, waitFor } from '../integration/hub-harness.ts';
import type { HubProcess } from '../integration/hub-harness.ts';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { rawAgent } from './agent-abuse-kit.ts';

let hub: HubProcess;
const dataDir = tempDir('protocol');
before(async () => {
  hub = await startHubProcess({ dataDir });
});
after(async () => {
  await hub.stop();
  removeDir(dataDir);
});

test('an agent speaking only the oldest version the hub speaks is welcomed at that version', async () => {
  const a = await rawAgent(hub.agentUrl, 'proto-min', { enrollmentToken: ENROLL, protocol: MIN_PROTOCOL_VERSION });
  assert.equal(a.messages[0]!.type, 'welcome');
  assert.equal(a.messages[0]!.protocol, MIN_PROTOCOL_VERSION);
  a.ws.close();
});

test('a newer agent that still speaks the hub version is negotiated down to it', async () => {
  const a = await rawAgent(hub.agentUrl, 'proto-newer', { enrollmentToken: ENROLL, protocol: PROTOCOL_VERSION + 3, minProtocol: MIN_PROTOCOL_VERSION, somethingNew: { x: 1 } });
  assert.equal(a.messages[0]!.type, 'welcome', JSON.stringify(a.messages[0]));
  assert.equal(a.messages[0]!.protocol, PROTOCOL_VERSION);
  a.ws.close();
});

test('ranges that do not meet are refused with agent-too-old or hub-too-old', async () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ protocol: MIN_PROTOCOL_VERSION - 1 }, 'agent-too-old'],
    [{ protocol: PROTOCOL_VERSION + 2, minProtocol: PROTOCOL_VERSION + 1 }, 'hub-too-old'],
  ];
  for (const [range, reason] of cases) {
    const a = await rawAgent(hub.agentUrl, 'proto-out', { enrollmentToken: ENROLL, ...range });
    const closed = await a.closed;
    assert.equal(closed.code, 4003);
    assert.deepEqual(
      { ...a.messages[0], message: undefined },
      { type: 'error', code: 'PROTOCOL_VERSION', reason, hubProtocol: PROTOCOL_VERSION, hubMinProtocol: MIN_PROTOCOL_VERSION, message: undefined },
    );
    assert.match(String(a.messages[0]!.message), new RegExp(`incompatible protocol \\(${reason}\\)`));
  }
  // The hub's log comes through a pipe, maybe after the socket closed: wait for the lines.
  for (const reason of ['agent-too-old', 'hub-too-old']) await waitFor(`the hub to log the ${reason} refusal`, () => hub.logs.some((l) => l.code === 'PROTOCOL_VERSION' && l.reason === reason), 10_000);
});
