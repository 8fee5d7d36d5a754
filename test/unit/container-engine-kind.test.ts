// Telling Docker from Podman by their /version answers (shapes as the real
// engines send them: Debian's docker.io 20.10 and podman 4.3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineOfVersion } from '../../agent/drivers/docker/engine-kind.ts';
import { HostFacts } from '../../shared/protocol.ts';
import { emptyFacts } from '../../agent/facts.ts';

const dockerVersion = {
  Platform: { Name: '' }, Version: '20.10.24+dfsg1', ApiVersion: '1.41',
  Components: [{ Name: 'Engine', Version: '20.10.24+dfsg1' }, { Name: 'containerd', Version: '1.6.20~ds1' }, { Name: 'runc', Version: '1.1.5+ds1' }],
};
const podmanVersion = {
  Platform: { Name: 'linux/amd64/debian-12' }, Version: '4.3.1', ApiVersion: '1.41',
  Components: [{ Name: 'Podman Engine', Version: '4.3.1' }, { Name: 'Conmon', Version: 'conmon version 2.1.6' }, { Name: 'OCI Runtime (runc)', Version: 'runc version 1.1.5' }],
};

test('Docker and Podman are told apart by their /version components', () => {
  assert.deepEqual(engineOfVersion(dockerVersion), { name: 'docker', version: '20.10.24+dfsg1' });
  assert.deepEqual(engineOfVersion(podmanVersion), { name: 'podman', version: '4.3.1' });
  // Docker Desktop / CE name their platform; still Docker.
  assert.deepEqual(engineOfVersion({ ...dockerVersion, Platform: { Name: 'Docker Engine - Community' } })?.name, 'docker');
});

test('an answer that is not an engine version is no engine; long versions are cut', () => {
  assert.equal(engineOfVersion(null), null);
  assert.equal(engineOfVersion('OK'), null);
  assert.equal(engineOfVersion({}), null);
  assert.equal(engineOfVersion({ Version: 'x'.repeat(500) })?.version.length, 64);
});

test('facts carry the engine as an optional field: older agents’ facts still parse, oversized names do not', () => {
  const facts = emptyFacts(new Date(0));
  assert.equal(HostFacts.safeParse(facts).success, true, 'without containerEngine (an older agent)');
  assert.equal(HostFacts.safeParse({ ...facts, containerEngine: { name: 'podman', version: '4.3.1' } }).success, true);
  assert.equal(HostFacts.safeParse({ ...facts, containerEngine: null }).success, true);
  assert.equal(HostFacts.safeParse({ ...facts, containerEngine: { name: 'x'.repeat(33), version: '1' } }).success, false);
});
