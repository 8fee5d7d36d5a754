// Podman reports `bridge` as the network mode of a container on user-defined
// networks; Docker names the network. Adoption compares the two, so the
// driver names it too (agent/drivers/docker/podman-inspect.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podmanInspectAsDocker, type InspectLike } from '../../agent/drivers/docker/podman-inspect.ts';

const image = { env: [], workingDir: '' };
const inspect = (mode: string, networks: string[]): InspectLike => ({
  Config: { Image: 'local/app:1', Env: [] },
  HostConfig: { NetworkMode: mode },
  NetworkSettings: { Networks: Object.fromEntries(networks.map((n) => [n, {}])) },
});
const modeOf = (mode: string, networks: string[]) => podmanInspectAsDocker(inspect(mode, networks), image).HostConfig.NetworkMode;

test('one user-defined network: the mode is its name, as Docker says', () => {
  assert.equal(modeOf('bridge', ['backend']), 'backend');
});

test('several: the first by name (Podman 4 keeps no order)', () => {
  assert.equal(modeOf('bridge', ['front', 'back']), 'back');
});

test("Podman's default network is Docker's default; host, none and a named mode stay as they are", () => {
  assert.equal(modeOf('bridge', ['podman']), 'default');
  assert.equal(modeOf('bridge', ['podman', 'backend']), 'bridge');
  assert.equal(modeOf('host', []), 'host');
  assert.equal(modeOf('none', []), 'none');
  assert.equal(modeOf('backend', ['backend']), 'backend');
});
