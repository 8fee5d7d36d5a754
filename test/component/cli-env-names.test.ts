// Issue 21, item 4 (environment variables without overlapping names):
// GITFLEET_HUB_* is the hub server's configuration only; the agent's hub link
// is GITFLEET_AGENT_HUB(_INSECURE) and the CLI's hub login GITFLEET_API_URL /
// GITFLEET_API_TOKEN. The old names still work, with one deprecation warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAgentConfig } from '../../agent/config/agent-config.ts';
import { hubEnv } from '../../hub/config.ts';
import { agentEnv } from '../../agent/config/agent-config.ts';
import { readRenamedEnv } from '../../shared/renamed-env.ts';
import { gitfleet, repoRoot } from '../helpers/gitfleet-cli.ts';

test('no agent variable and no CLI variable is in the hub server\'s GITFLEET_HUB_* name space', () => {
  const hubNames = new Set(Object.values(hubEnv));
  for (const name of Object.keys(agentEnv)) {
    assert.ok(!name.startsWith('GITFLEET_HUB_') && name !== 'GITFLEET_HUB', `agent variable ${name}`);
    assert.ok(!hubNames.has(name));
  }
  const hubApi = readFileSync(join(repoRoot, 'hub/cli/hub-api.ts'), 'utf8');
  assert.doesNotMatch(hubApi, /process\.env\.GITFLEET_HUB/);
});

test('the agent reads GITFLEET_AGENT_HUB; the old GITFLEET_HUB still works with one warning', () => {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const current = loadAgentConfig({ env: { GITFLEET_REPO: '/srv/fleet', GITFLEET_AGENT_HUB: 'ws://127.0.0.1:1/agent' }, warn });
  assert.equal(current.hub, 'ws://127.0.0.1:1/agent');
  assert.deepEqual(warnings, []);
  const old = loadAgentConfig({ env: { GITFLEET_REPO: '/srv/fleet', GITFLEET_HUB: 'wss://hub.example.com/agent', GITFLEET_HUB_INSECURE: 'true' }, warn });
  assert.equal(old.hub, 'wss://hub.example.com/agent');
  assert.equal(old.hubInsecure, true);
  assert.match(warnings.join('\n'), /GITFLEET_HUB is deprecated and will be removed: set GITFLEET_AGENT_HUB instead/);
  assert.match(warnings.join('\n'), /GITFLEET_HUB_INSECURE is deprecated and will be removed: set GITFLEET_AGENT_HUB_INSECURE instead/);
  // The new name wins over the old one.
  assert.equal(loadAgentConfig({ env: { GITFLEET_REPO: '/srv/fleet', GITFLEET_AGENT_HUB: 'wss://new/agent', GITFLEET_HUB: 'wss://old/agent' }, warn }).hub, 'wss://new/agent');
});

test('readRenamedEnv: an empty variable is unset; one warning per old name', () => {
  const warnings: string[] = [];
  assert.equal(readRenamedEnv({ GITFLEET_API_URL: '', GITFLEET_HUB_URL: '' }, 'GITFLEET_API_URL', (m) => warnings.push(m)), undefined);
  assert.equal(warnings.length, 0);
});

test('hub commands: GITFLEET_API_URL/GITFLEET_API_TOKEN; the old GITFLEET_HUB_URL/GITFLEET_HUB_TOKEN with a warning', async () => {
  // Port 9 on loopback: nothing listens, so the hub "could not tell" (exit 3) — the point is which variables were read.
  const current = await gitfleet(['hosts'], { env: { GITFLEET_API_URL: 'http://127.0.0.1:9', GITFLEET_API_TOKEN: 'viewer-token-0123456789', GITFLEET_HUB_URL: '', GITFLEET_HUB_TOKEN: '' } });
  assert.equal(current.code, 3, current.stderr);
  assert.match(current.stderr, /127\.0\.0\.1:9/);
  assert.doesNotMatch(current.stderr, /deprecated/);
  const old = await gitfleet(['hosts'], { env: { GITFLEET_HUB_URL: 'http://127.0.0.1:9', GITFLEET_HUB_TOKEN: 'viewer-token-0123456789', GITFLEET_API_URL: '', GITFLEET_API_TOKEN: '' } });
  assert.equal(old.code, 3, old.stderr);
  assert.match(old.stderr, /^gitfleet hosts: warning: GITFLEET_HUB_URL is deprecated and will be removed: set GITFLEET_API_URL instead/m);
  assert.match(old.stderr, /GITFLEET_HUB_TOKEN is deprecated and will be removed: set GITFLEET_API_TOKEN instead/);
  assert.match(old.stderr, /127\.0\.0\.1:9/);
});
