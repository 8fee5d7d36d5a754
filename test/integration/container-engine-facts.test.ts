// The agent's facts name the engine on its container socket: Docker on
// Docker's socket, Podman on Podman's Docker-compatible one (real engines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectFacts } from '../../agent/facts.ts';
import { detectContainerEngine } from '../../agent/drivers/docker/engine-kind.ts';
import { HostFacts } from '../../shared/protocol.ts';
import { requireComponent } from '../harness/require.ts';
import { DEFAULT_SOCKET, dockerMissingReason } from '../harness/docker.ts';
import { PODMAN_SOCKET, podmanMissingReason } from '../harness/podman.ts';

test('on Podman’s socket the facts say podman, with its version', async (t) => {
  if (!requireComponent(t, 'Podman', await podmanMissingReason())) return;
  const facts = await collectFacts(3000, PODMAN_SOCKET);
  assert.equal(facts.containerEngine?.name, 'podman');
  assert.match(facts.containerEngine.version, /^\d+\.\d+\.\d+/);
  assert.equal(HostFacts.parse(facts).containerEngine?.name, 'podman', 'the hub accepts them');
});

test('on Docker’s socket the facts say docker', async (t) => {
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  assert.equal((await detectContainerEngine(DEFAULT_SOCKET))?.name, 'docker');
});

test('nothing on the socket: the engine fact is null, collection still succeeds', async () => {
  const facts = await collectFacts(1000, '/nonexistent/gitfleet-test.sock');
  assert.equal(facts.containerEngine, null);
  assert.equal(HostFacts.safeParse(facts).success, true);
});
