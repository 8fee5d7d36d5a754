// The Podman DNS check before a container is created: which networks are asked
// about (only those with aliases, by name, on Podman's own API) and what is
// refused. The engine is a recorded dial function; the real Podman side is in
// test/integration/podman-bridge-network.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type Dockerode from 'dockerode';
import { assertAliasesResolve } from '../../agent/drivers/docker/podman-network-dns.ts';
import { isGitfleetError } from '../../shared/errors.ts';

function engine(networks: Record<string, object>): { docker: Dockerode; asked: string[] } {
  const asked: string[] = [];
  const dial = (options: { path: string }, callback: (error: unknown, data: unknown) => void) => {
    asked.push(options.path);
    const name = decodeURIComponent(/\/libpod\/networks\/([^/]+)\/json$/.exec(options.path)?.[1] ?? '');
    // What Podman answers for a network it does not know (with the 404 accepted as an answer).
    setImmediate(() => callback(null, networks[name] ?? { cause: 'network not found', message: 'network not found', response: 404 }));
  };
  return { docker: { modem: { dial } } as unknown as Dockerode, asked };
}

const spec = (networks: NonNullable<Parameters<typeof assertAliasesResolve>[2]['networks']>) => ({ image: 'local/app:1', networks });

test('only networks with aliases are asked about, on the versioned libpod path', async () => {
  const { docker, asked } = engine({ front: { name: 'front', dns_enabled: true }, back: { name: 'back', dns_enabled: false } });
  await assertAliasesResolve(docker, 'web', spec({ front: { aliases: ['www'] }, back: {} }), '/s');
  await assertAliasesResolve(docker, 'web', spec(['back']), '/s');
  await assertAliasesResolve(docker, 'web', { image: 'local/app:1' }, '/s');
  assert.deepEqual(asked, ['/v4.0.0/libpod/networks/front/json']);
});

test('aliases on a network without DNS are refused, naming the network, the aliases and the fix', async () => {
  const { docker } = engine({ plain: { name: 'plain', dns_enabled: false, internal: false }, inner: { name: 'inner', dns_enabled: false, internal: true } });
  await assert.rejects(assertAliasesResolve(docker, 'web', spec({ plain: { aliases: ['db', 'db2'] } }), '/s'), (e: unknown) => {
    assert.ok(isGitfleetError(e) && e.code === 'DOCKER_FAILED');
    assert.match(e.message, /^cannot create container web: network plain on Podman has no name resolution .* aliases db, db2 would never resolve; install the CNI dnsname plugin/);
    return true;
  });
  await assert.rejects(assertAliasesResolve(docker, 'web', spec({ inner: { aliases: ['db'] } }), '/s'), /internal network no DNS: declare the network without internal: true/);
});

test('a network Podman does not know is left to the create (which names it)', async () => {
  const { docker } = engine({});
  await assertAliasesResolve(docker, 'web', spec({ 'nope/../x': { aliases: ['db'] } }), '/s');
});

test('an engine that cannot be reached is DOCKER_UNAVAILABLE', async () => {
  const dial = (_: unknown, callback: (error: unknown) => void) => callback(Object.assign(new Error('connect ENOENT /s'), { code: 'ENOENT' }));
  await assert.rejects(assertAliasesResolve({ modem: { dial } } as unknown as Dockerode, 'web', spec({ a: { aliases: ['x'] } }), '/s'), (e: unknown) => isGitfleetError(e) && e.code === 'DOCKER_UNAVAILABLE');
});
