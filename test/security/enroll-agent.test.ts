// The agent's side of enrollment hygiene: the real HubClient against a
// scripted hub on a real loopback socket. The enrollment token goes out only
// until the agent holds a credential; after that only the credential, until
// the hub says the host is not enrolled (deleted or reset), when the token is
// offered once more. And the agent config refuses an unencrypted hub that is
// not on loopback unless hubInsecure says so.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { pino } from 'pino';
import { HubClient } from '../../agent/report/index.ts';
import { loadAgentConfig } from '../../agent/config/agent-config.ts';
import { emptyFacts } from '../../agent/facts.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { isGitfleetError } from '../../shared/errors.ts';
import { waitFor } from '../integration/hub-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'gitfleet-enroll-agent-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const TOKEN = 'gfe_enrollment-token-for-this-test';

test('the agent sends the enrollment token only until it holds a credential, and again only after the hub forgot the host', async () => {
  const hellos: Array<Record<string, unknown>> = [];
  // The scripted hub: enroll, then accept the credential, then "not enrolled", then enroll again.
  const script = ['enroll', 'accept', 'forgot', 'enroll', 'accept'];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    ws.once('message', (d: Buffer) => {
      const hello = JSON.parse(d.toString()) as Record<string, unknown>;
      const step = script[hellos.length] ?? 'accept';
      hellos.push(hello);
      const welcome = (credential?: string) =>
        ws.send(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, ...(credential ? { hostCredential: credential } : {}), serverTime: new Date().toISOString(), heartbeatMs: 60_000, lastSeq: 0 }));
      if (step === 'enroll') welcome(`credential-${hellos.length}`);
      else if (step === 'accept') welcome();
      else {
        ws.send(JSON.stringify({ type: 'error', code: 'AUTH_FAILED', message: 'host h1 is not enrolled and sent no enrollment token' }));
        ws.close(4001, 'AUTH_FAILED');
      }
      // Drop the accepted connections after a moment so the client reconnects (like a hub restart).
      if (step !== 'forgot') setTimeout(() => ws.close(1012, 'restart'), 50);
    });
  });
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as AddressInfo).port;
  const client = new HubClient({
    url: `ws://127.0.0.1:${port}/agent`,
    enrollmentToken: TOKEN,
    stateDir: dir,
    host: 'h1',
    place: '',
    tags: [],
    agentVersion: 'test',
    facts: () => Promise.resolve(emptyFacts()),
    logger: pino({ level: 'silent' }),
    onReconcileNow: () => {},
  });
  client.start();
  try {
    await waitFor('five hellos', () => hellos.length >= 5, 30_000);
  } finally {
    await client.stop();
    await new Promise((r) => wss.close(r));
  }
  const seen = hellos.slice(0, 5).map((h) => [h.enrollmentToken === TOKEN ? 'token' : '-', typeof h.credential === 'string' ? h.credential : '-']);
  assert.deepEqual(seen, [
    ['token', '-'], // first contact: the token only
    ['-', 'credential-1'], // enrolled: the credential only
    ['-', 'credential-1'], // still only the credential; the hub answers "not enrolled"
    ['token', 'credential-1'], // so the token is offered once more, and a new credential comes back
    ['-', 'credential-4'], // and from then on only the new credential
  ]);
});

test('agent config: an unencrypted hub off loopback is refused unless hubInsecure is set', () => {
  const base = { repo: 'https://git.example.com/fleet.git', host: 'h1' };
  assert.throws(
    () => loadAgentConfig({ env: {}, overrides: { ...base, hub: 'ws://hub.example.com:8080/agent' } }),
    (e: unknown) => isGitfleetError(e, 'CONFIG_INVALID') && /config key "hub": ws:\/\/ to hub\.example\.com is unencrypted and not loopback.*hubInsecure: true/.test(e.message) && !e.message.includes('\n'),
  );
  assert.throws(() => loadAgentConfig({ env: {}, overrides: { ...base, hub: 'ws://192.0.2.10/agent' } }), /192\.0\.2\.10 is unencrypted/);
  for (const ok of ['wss://hub.example.com/agent', 'ws://127.0.0.1:8080/agent', 'ws://localhost:8080/agent', 'ws://[::1]:8080/agent', 'ws://127.3.4.5/agent']) {
    assert.equal(loadAgentConfig({ env: {}, overrides: { ...base, hub: ok } }).hub, ok);
  }
  assert.equal(loadAgentConfig({ env: {}, overrides: { ...base, hub: 'ws://hub.example.com/agent', hubInsecure: true } }).hubInsecure, true);
  assert.equal(loadAgentConfig({ env: { GITFLEET_AGENT_HUB: 'ws://hub.example.com/agent', GITFLEET_AGENT_HUB_INSECURE: 'true' }, overrides: base }).hubInsecure, true);
});
