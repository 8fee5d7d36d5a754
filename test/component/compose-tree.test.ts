// Compose files in a fleet tree (docs/compose.md): merged across layers with
// Compose's rules, refused keys reported with file:line:column, and the
// conflicts with native resources and the tree's limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainDesiredState, loadDesiredState } from '../../repo/tree/index.ts';
import { issuesOf, makeTree } from './repo-fixture.ts';

const base = `services:
  web:
    image: local/busybox:1
    environment: [A=1, B=base]
    labels: { tier: web }
    ports: ["8080:80"]
    volumes: ["./data:/data", "cache:/cache"]
    networks: [front]
networks:
  front: {}
volumes:
  cache: {}
`;

test('a deeper directory merges into the same service with Compose rules, relative binds resolve per file', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': base,
    'prod/compose.yaml': `services:\n  web:\n    environment: { B: prod, C: "\${host}" }\n    ports: ["8443:443"]\n    volumes: ["./prod-data:/data"]\n    labels: [env=prod]\n`,
    'prod/web-01/host.yaml': '',
  });
  const s = await loadDesiredState(root, { host: 'web-01' });
  assert.deepEqual(s.resources.map((r) => r.id), ['network/front', 'volume/cache', 'container/web']);
  const web = s.resources.find((r) => r.id === 'container/web')!;
  assert.deepEqual(web.spec, {
    image: 'local/busybox:1',
    environment: { A: '1', B: 'prod', C: 'web-01' },
    labels: { tier: 'web', env: 'prod' },
    ports: ['8080:80', '8443:443'],
    volumes: ['/var/lib/gitfleet/compose/prod/prod-data:/data', 'cache:/cache'],
    networks: { front: { aliases: ['web'] } },
    depends_on: ['network/front', 'volume/cache'],
  });
  assert.deepEqual(web.source, { file: 'prod/compose.yaml', line: 2, layer: 'prod' });
});

test('overrides in one directory apply after the base file, in name order', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': 'services:\n  aa: { image: "x:1" }\n',
    'compose.z.yaml': 'services:\n  aa: { image: "x:3" }\n',
    'compose.b.yaml': 'services:\n  aa: { image: "x:2", command: ["b"] }\n',
    'h1/host.yaml': '',
  });
  const s = await loadDesiredState(root, { host: 'h1' });
  // Without networks: on the project's default network (compose-default-network.test.ts).
  assert.deepEqual(s.resources.find((r) => r.id === 'container/aa')!.spec, { image: 'x:3', command: ['b'], networks: { gitfleet_default: { aliases: ['aa'] } }, depends_on: ['network/gitfleet_default'] });
});

test('unsupported keys are refused with file, line and column, never dropped', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': 'services:\n  web:\n    image: x:1\n    build: .\n    develop: {}\n    sysctls: { a: 1 }\n    deploy: { replicas: 2 }\nconfigs:\n  c: { external: true }\nfoo: 1\n',
    'h1/host.yaml': '',
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  const got = issues.map((i) => `${i.file}:${i.line}:${i.column} ${i.code} ${i.message.split(':')[0]}`).sort();
  assert.deepEqual(got, [
    'compose.yaml:4:5 COMPOSE_UNSUPPORTED service "web"',
    'compose.yaml:5:5 COMPOSE_UNSUPPORTED service "web"',
    'compose.yaml:6:5 COMPOSE_UNSUPPORTED service "web"',
    'compose.yaml:7:15 COMPOSE_UNSUPPORTED service "web" deploy',
    'compose.yaml:9:8 COMPOSE_UNSUPPORTED config "c"',
    'compose.yaml:9:6 INVALID_VALUE config "c" needs file',
    'compose.yaml:10:1 COMPOSE_UNSUPPORTED the Compose file',
  ].sort());
  assert.match(issues.find((i) => i.line === 4)!.message, /"build" is not supported: the agent does not build images/);
});

test('an unset variable is an error at its line; .env and vars feed interpolation, vars first', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': 'services:\n  aa:\n    image: "x:${TAG}"\n    command: ["${NOPE}"]\n',
    '.env': 'TAG=from-env\n',
    'h1/host.yaml': '',
    'h2/host.yaml': 'vars: { TAG: from-vars, NOPE: ok }\n',
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(issues.map((i) => [i.file, i.line, i.code]), [['compose.yaml', 4, 'UNRESOLVED_VARIABLE']]);
  const s = await loadDesiredState(root, { host: 'h2' });
  assert.deepEqual(s.resources.find((r) => r.id === 'container/aa')!.spec, { image: 'x:from-vars', command: ['ok'], networks: { gitfleet_default: { aliases: ['aa'] } }, depends_on: ['network/gitfleet_default'] });
});

test('profiles select services per host; absent removes a service; a native entry of the same name conflicts', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': 'services:\n  app: { image: "x:1" }\n  debug: { image: "x:1", profiles: [debug] }\n',
    'h1/host.yaml': 'profiles: [debug]\n',
    'h2/host.yaml': '',
    'h3/host.yaml': '',
    'h3/drop.yaml': 'containers:\n  app: { absent: true }\n',
    'h4/host.yaml': '',
    'h4/native.yaml': 'containers:\n  app: { image: "y:1" }\n',
  });
  const ids = async (host: string) => (await loadDesiredState(root, { host })).resources.map((r) => r.id);
  assert.deepEqual(await ids('h1'), ['network/gitfleet_default', 'container/app', 'container/debug']);
  assert.deepEqual(await ids('h2'), ['network/gitfleet_default', 'container/app']);
  assert.deepEqual((await explainDesiredState(root, { host: 'h3' })).removed.map((r) => r.id), ['container/app']);
  const issues = await issuesOf(loadDesiredState(root, { host: 'h4' }));
  assert.deepEqual(issues.map((i) => i.code), ['DUPLICATE_RESOURCE']);
});

test('env_file and configs are read from the tree; paths leaving it, missing files and two base files are errors', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': 'services:\n  aa:\n    image: "x:1"\n    env_file: a.env\n    configs: [conf]\nconfigs:\n  conf: { file: ./conf.txt }\n',
    'a.env': 'K=v\n',
    'conf.txt': 'hello\n',
    'h1/host.yaml': '',
    'bad/compose.yaml': 'services:\n  bb:\n    image: "x:1"\n    env_file: ../../etc/passwd\n    volumes: ["../../../x:/x"]\n',
    'bad/docker-compose.yml': 'services: {}\n',
    'bad/h2/host.yaml': '',
  });
  const s = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(s.resources.map((r) => r.id), ['file//var/lib/gitfleet/compose/configs/aa/conf', 'network/gitfleet_default', 'container/aa']);
  // Compose's default mode (0444, for configs and secrets alike); a new content restarts the container.
  assert.deepEqual(s.resources[0]!.spec, { content: 'hello\n', mode: '0444', notify: ['container/aa'] });
  assert.deepEqual(s.resources[2]!.spec, {
    image: 'x:1',
    environment: { K: 'v' },
    volumes: ['/var/lib/gitfleet/compose/configs/aa/conf:/conf:ro'],
    networks: { gitfleet_default: { aliases: ['aa'] } },
    depends_on: ['file//var/lib/gitfleet/compose/configs/aa/conf', 'network/gitfleet_default'],
  });
  const issues = await issuesOf(loadDesiredState(root, { host: 'h2' }));
  assert.deepEqual(issues.map((i) => i.code).sort(), ['DUPLICATE_RESOURCE', 'INVALID_PATH'].sort());
});

test('a side file reached through a symlinked directory out of the tree is refused', async (t) => {
  const { symlinkSync, mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const outside = mkdtempSync(join(tmpdir(), 'gitfleet-outside-'));
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  writeFileSync(join(outside, 'secret.env'), 'K=stolen\n');
  const root = makeTree(t, { 'compose.yaml': 'services:\n  aa:\n    image: "x:1"\n    env_file: conf/link/secret.env\n', 'h1/host.yaml': '', 'conf/readme.txt': 'x' });
  symlinkSync(outside, join(root, 'conf', 'link'));
  const issues = await issuesOf(loadDesiredState(root, { host: 'h1' }));
  assert.deepEqual(issues.map((i) => [i.file, i.code]), [['compose.yaml', 'SYMLINK_ESCAPE']]);
});
