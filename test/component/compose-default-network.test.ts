// The implicit `default` network of Compose files (docs/compose.md "The project
// and its default network"): services without networks or network_mode join
// `<project>_default` with their service name as an alias; the project is the
// first Compose file's directory (the tree root: `gitfleet`) unless `name:`
// says otherwise; a top-level `default` entry customises the network; the
// network exists only while a service joins it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDesiredState } from '../../repo/tree/index.ts';
import type { DesiredResource } from '../../shared/resources.ts';
import { issuesOf, makeTree } from './repo-fixture.ts';

const webDb = 'services:\n  web:\n    image: "x:1"\n    container_name: shop-web-1\n  db:\n    image: "x:1"\n';

const byId = (resources: DesiredResource[], id: string) => resources.find((r) => r.id === id);
/** A container's spec as plain data (the resource spec is a union of the kinds). */
const specOf = (resources: DesiredResource[], id: string) => byId(resources, id)!.spec as Record<string, unknown>;

test('a service without networks joins <project>_default with its service name as an alias, the tree root being project "gitfleet"', async (t) => {
  const root = makeTree(t, { 'compose.yaml': webDb, 'h1/host.yaml': '' });
  const s = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(s.resources.map((r) => r.id), ['network/gitfleet_default', 'container/db', 'container/shop-web-1']);
  assert.deepEqual(byId(s.resources, 'network/gitfleet_default')!.spec, {});
  // The alias is the service name, not the container name: `db` and `web` resolve on the network.
  assert.deepEqual(byId(s.resources, 'container/shop-web-1')!.spec, {
    image: 'x:1',
    networks: { gitfleet_default: { aliases: ['web'] } },
    depends_on: ['network/gitfleet_default'],
  });
  assert.deepEqual(byId(s.resources, 'container/db')!.spec, { image: 'x:1', networks: { gitfleet_default: { aliases: ['db'] } }, depends_on: ['network/gitfleet_default'] });
});

test('the project is the directory of the first Compose file in merge order; deeper files and overrides join it', async (t) => {
  const root = makeTree(t, {
    'shop/compose.yaml': webDb,
    'shop/compose.prod.yaml': 'services:\n  web:\n    environment: { MODE: prod }\n',
    'shop/eu/compose.yaml': 'services:\n  db:\n    command: ["sleep", "1"]\n  cache:\n    image: "x:1"\n',
    'shop/eu/h1/compose.yaml': 'services:\n  extra:\n    image: "x:1"\n',
    'shop/eu/h1/host.yaml': '',
    'solo/h2/compose.yaml': 'services:\n  extra:\n    image: "x:1"\n',
    'solo/h2/host.yaml': '',
  });
  const s = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(s.resources.filter((r) => r.kind === 'network').map((r) => r.id), ['network/shop_default']);
  for (const r of s.resources.filter((x) => x.kind === 'container')) assert.deepEqual(Object.keys(r.spec.networks as object), ['shop_default'], r.id);
  // The network belongs to the project's first layer, wherever the services come from.
  assert.deepEqual(byId(s.resources, 'network/shop_default')!.source, { file: 'shop/compose.yaml', line: 2, layer: 'shop' });
  // A host whose only Compose file is in its own directory: the host directory names the project.
  const solo = await loadDesiredState(root, { host: 'h2' });
  assert.deepEqual(solo.resources.map((r) => r.id), ['network/h2_default', 'container/extra']);
});

test('name: (interpolated, the last file that sets it wins) names the project; a name Compose refuses is an error at its line', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': `name: \${PROJECT}\n${webDb}`,
    '.env': 'PROJECT=shop\n',
    'h1/host.yaml': '',
    'h2/host.yaml': 'vars: { PROJECT: shop-eu }\n',
    'h3/compose.override.yaml': 'name: later\n',
    'h3/host.yaml': '',
    'h4/host.yaml': 'vars: { PROJECT: "-Shop" }\n',
  });
  const nets = async (host: string) => (await loadDesiredState(root, { host })).resources.filter((r) => r.kind === 'network').map((r) => r.name);
  assert.deepEqual(await nets('h1'), ['shop_default']);
  assert.deepEqual(await nets('h2'), ['shop-eu_default']);
  assert.deepEqual(await nets('h3'), ['later_default']);
  const issues = await issuesOf(loadDesiredState(root, { host: 'h4' }));
  assert.deepEqual(issues.map((i) => `${i.file}:${i.line} ${i.code}`), ['compose.yaml:1 INVALID_NAME']);
  assert.match(issues[0]!.message, /"-Shop" is not a valid Compose project name/);
});

test('a service that lists networks or has network_mode never joins default; no service on default, no network', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': 'services:\n  aa: { image: "x:1", networks: [back] }\n  bb: { image: "x:1", network_mode: host }\n  cc: { image: "x:1", networks: { back: { aliases: [cc2, cc] } } }\nnetworks:\n  back: {}\n  default: { labels: { unused: "1" } }\n',
    'h1/host.yaml': '',
  });
  const s = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(s.resources.map((r) => r.id), ['network/back', 'container/aa', 'container/bb', 'container/cc']);
  assert.deepEqual(specOf(s.resources, 'container/aa').networks, { back: { aliases: ['aa'] } });
  assert.equal(specOf(s.resources, 'container/bb').networks, undefined);
  // The service name comes first and is not repeated when it is also listed.
  assert.deepEqual(specOf(s.resources, 'container/cc').networks, { back: { aliases: ['cc', 'cc2'] } });
});

test('a top-level default entry customises the network like any declared one; listing default explicitly joins it', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': 'services:\n  aa: { image: "x:1" }\n  bb: { image: "x:1", networks: [default, back] }\nnetworks:\n  back: {}\n  default:\n    name: shop-net\n    internal: true\n    labels: [tier=app]\n',
    'h1/host.yaml': '',
  });
  const s = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(s.resources.map((r) => r.id), ['network/back', 'network/shop-net', 'container/aa', 'container/bb']);
  assert.deepEqual(byId(s.resources, 'network/shop-net')!.spec, { internal: true, labels: { tier: 'app' } });
  assert.deepEqual(specOf(s.resources, 'container/bb').networks, { 'shop-net': { aliases: ['bb'] }, back: { aliases: ['bb'] } });
  assert.deepEqual(specOf(s.resources, 'container/bb').depends_on, ['network/shop-net', 'network/back']);
  // External: used, never a resource.
  const extRoot = makeTree(t, { 'compose.yaml': 'services:\n  aa: { image: "x:1" }\nnetworks:\n  default: { external: true, name: existing-net }\n', 'h2/host.yaml': '' });
  const ext = await loadDesiredState(extRoot, { host: 'h2' });
  assert.deepEqual(ext.resources.map((r) => r.id), ['container/aa']);
  assert.deepEqual(specOf(ext.resources, 'container/aa').networks, { 'existing-net': { aliases: ['aa'] } });
});

test('only services of the host count: a default used only outside the host profiles is not created', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': 'services:\n  aa: { image: "x:1", network_mode: none }\n  debug: { image: "x:1", profiles: [debug] }\n',
    'h1/host.yaml': '',
    'h2/host.yaml': 'profiles: [debug]\n',
  });
  assert.deepEqual((await loadDesiredState(root, { host: 'h1' })).resources.map((r) => r.id), ['container/aa']);
  assert.deepEqual((await loadDesiredState(root, { host: 'h2' })).resources.map((r) => r.id), ['network/gitfleet_default', 'container/aa', 'container/debug']);
});

test('a native absent: true that removes every service of the default network removes the network too, unless a container still names it', async (t) => {
  const root = makeTree(t, {
    'compose.yaml': webDb,
    'h1/host.yaml': '',
    'h1/off.yaml': 'containers:\n  shop-web-1: { absent: true }\n  db: { absent: true }\n',
    'h2/host.yaml': '',
    'h2/off.yaml': 'containers:\n  db: { absent: true }\n',
    'h3/host.yaml': '',
    'h3/off.yaml': 'containers:\n  shop-web-1: { absent: true }\n  db: { absent: true }\n  native:\n    image: "x:1"\n    networks: [gitfleet_default]\n',
  });
  const none = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(none.resources.map((r) => r.id), [], 'no service joins default: no network either');
  const one = await loadDesiredState(root, { host: 'h2' });
  assert.deepEqual(one.resources.map((r) => r.id), ['network/gitfleet_default', 'container/shop-web-1'], 'one service still joins it');
  const named = await loadDesiredState(root, { host: 'h3' });
  assert.deepEqual(named.resources.map((r) => r.id).sort(), ['container/native', 'network/gitfleet_default'], 'a native container names the network: it stays');
});
