// gitfleet adopt's inspection → YAML mapping, on inspections written by hand
// the way Docker 20.10 reports them: the image's defaults are stripped, secret
// env names are split off, Compose containers are grouped into one compose
// file with their networks and volumes, and `$` in values is escaped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerLayers } from '../../cli/adopt/container-layers.ts';
import type { ContainerFacts, EngineFacts, ImageDefaults, InspectedContainer } from '../../cli/adopt/docker-facts.ts';
import { escapeCompose, escapeNative } from '../../cli/adopt/escape-values.ts';
import { holdsPrivateKey, isSecretEnvName, secretVariable } from '../../cli/adopt/secrets-split.ts';
import { bytesToSize, nsToDuration, stripDefaults } from '../../cli/adopt/strip-defaults.ts';

const image: ImageDefaults = {
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_HOME=/app'],
  Cmd: ['httpd', '-f'],
  Entrypoint: null,
  User: '',
  WorkingDir: '/app',
  ExposedPorts: { '80/tcp': {} },
  Healthcheck: { Test: ['CMD', 'true'], Interval: 30e9 },
  Labels: { 'org.opencontainers.image.title': 'web' },
  Volumes: { '/data': {} },
  StopSignal: 'SIGTERM',
};

function container(over: Omit<Partial<ContainerFacts>, 'Config' | 'HostConfig'> & { Config?: Partial<ContainerFacts['Config']>; HostConfig?: Partial<ContainerFacts['HostConfig']> } = {}): ContainerFacts {
  const id = 'abcdef0123456789'.padEnd(64, '0');
  return {
    Id: id,
    Name: '/web',
    State: { Running: true },
    ...over,
    Config: {
      Image: 'local/busybox:1',
      Hostname: id.slice(0, 12),
      Env: [...image.Env!],
      Cmd: [...image.Cmd!],
      Entrypoint: null,
      User: '',
      WorkingDir: '/app',
      ExposedPorts: { '80/tcp': {} },
      Healthcheck: image.Healthcheck,
      Labels: { ...image.Labels },
      StopSignal: 'SIGTERM',
      ...over.Config,
    },
    HostConfig: { NetworkMode: 'default', RestartPolicy: { Name: 'no' }, LogConfig: { Type: 'json-file', Config: {} }, ...over.HostConfig },
    Mounts: over.Mounts ?? [{ Type: 'volume', Name: 'f'.repeat(64), Destination: '/data' }],
  };
}

const inspected = (facts: ContainerFacts): InspectedContainer => ({ facts, image });

test('a container run with only the image defaults is its image and nothing else', () => {
  const s = stripDefaults(inspected(container()), 'json-file');
  assert.deepEqual(s.spec, { image: 'local/busybox:1' });
  assert.deepEqual(s.notes, []);
});

test('what the docker run line changed comes back in the repo keys; the rest stays the image\'s', () => {
  const s = stripDefaults(
    inspected(
      container({
        State: { Running: true },
        Config: {
          Env: [...image.Env!, 'TZ=UTC', 'APP_HOME=/app'],
          Cmd: ['httpd', '-f', '-p', '8080'],
          User: '1000:1000',
          Healthcheck: { Test: ['CMD-SHELL', 'wget -q -O- localhost:8080'], Interval: 5e9, Timeout: 500e6, Retries: 3 },
          Labels: { ...image.Labels, team: 'web', 'com.docker.compose.project': 'x' },
          StopTimeout: 3,
        },
        HostConfig: {
          PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }], '53/udp': [{ HostIp: '', HostPort: '5353' }] },
          RestartPolicy: { Name: 'unless-stopped' },
          Binds: ['/srv/web:/www:ro'],
          Init: true,
          Memory: 64 * 1024 * 1024,
          CapDrop: ['ALL'],
          LogConfig: { Type: 'json-file', Config: { 'max-size': '10m' } },
        },
      }),
    ),
    'json-file',
  );
  assert.deepEqual(s.spec, {
    image: 'local/busybox:1',
    command: ['httpd', '-f', '-p', '8080'],
    env: { TZ: 'UTC' },
    ports: ['127.0.0.1:18080:8080', '5353:53/udp'],
    volumes: ['/srv/web:/www:ro'],
    restart: 'unless-stopped',
    labels: { team: 'web' },
    healthcheck: { test: 'wget -q -O- localhost:8080', interval: '5s', timeout: '500ms', retries: 3 },
    user: '1000:1000',
    init: true,
    cap_drop: ['ALL'],
    mem_limit: '64m',
    logging: { driver: 'json-file', options: { 'max-size': '10m' } },
    stop_grace_period: '3s',
  });
});

test('a stopped container, network host, a new entrypoint and a missing image are each said', () => {
  const s = stripDefaults(
    { facts: container({ State: { Running: false }, Config: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['httpd', '-f'], Hostname: 'the-host' }, HostConfig: { NetworkMode: 'host' } }), image: null },
    'json-file',
  );
  assert.equal(s.spec.state, 'stopped');
  assert.equal(s.spec.network, 'host');
  assert.deepEqual(s.spec.entrypoint, ['/bin/sh', '-c']);
  // A new entrypoint drops the image's Cmd, so the Cmd is the operator's even when it equals the image's.
  assert.deepEqual(s.spec.command, ['httpd', '-f']);
  assert.equal(s.spec.hostname, undefined, 'with network host the hostname is the host\'s');
  assert.match(s.notes.join('\n'), /no longer on the engine/);
});

test('user-defined networks keep explicit aliases and drop the ones the engine adds', () => {
  const c = container({ HostConfig: { NetworkMode: 'backend' }, NetworkSettings: { Networks: { backend: { Aliases: ['abcdef012345', 'web', 'api'] }, front: { Aliases: ['abcdef012345'] } } } });
  const s = stripDefaults(inspected(c), 'json-file');
  assert.deepEqual(s.spec.networks, { backend: { aliases: ['api'] }, front: null });
  assert.deepEqual(s.networks, ['backend', 'front']);
});

function engine(containers: ContainerFacts[]): EngineFacts {
  return {
    containers: containers.map(inspected),
    networks: new Map([['shop_backend', { Name: 'shop_backend', Driver: 'bridge', Internal: true, Labels: { 'com.docker.compose.network': 'backend', team: 'shop' } }]]),
    volumes: new Map([['shop_pgdata', { Name: 'shop_pgdata', Driver: 'local', Labels: { 'com.docker.compose.volume': 'pgdata' } }]]),
    defaultLogDriver: 'json-file',
  };
}

const composeLabels = (service: string) => ({ ...image.Labels, 'com.docker.compose.project': 'shop', 'com.docker.compose.service': service, 'com.docker.compose.depends_on': service === 'web' ? 'db:service_healthy:false' : '' });

test('Compose containers become one compose.yaml with their networks and volumes; docker run ones stay native', () => {
  const db = container({
    Id: '1'.repeat(64),
    Name: '/shop-db-1',
    Config: { Hostname: '1'.repeat(12), Labels: composeLabels('db'), Env: [...image.Env!, 'POSTGRES_PASSWORD=hunter2$x', 'PGDATA=/var/lib/pg'] },
    HostConfig: { NetworkMode: 'shop_backend', Binds: ['shop_pgdata:/var/lib/pg:rw'] },
    NetworkSettings: { Networks: { shop_backend: { Aliases: ['db', '111111111111'] } } },
  });
  const web = container({
    Id: '2'.repeat(64),
    Name: '/shop-web-1',
    Config: { Hostname: '2'.repeat(12), Labels: composeLabels('web') },
    HostConfig: { NetworkMode: 'shop_backend', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } },
    NetworkSettings: { Networks: { shop_backend: { Aliases: ['web', '222222222222'] } } },
  });
  const single = container({ Id: '3'.repeat(64), Name: '/cache', Config: { Hostname: '3'.repeat(12), Env: [...image.Env!, 'API_TOKEN=t0k3n', 'MOTD=${HOME}'] } });
  const taken = new Set<string>();
  const layers = containerLayers(engine([db, web, single]), true, taken);
  assert.deepEqual(layers.compose, {
    services: {
      db: {
        image: 'local/busybox:1',
        container_name: 'shop-db-1',
        volumes: ['shop_pgdata:/var/lib/pg:rw'],
        networks: { shop_backend: { aliases: ['db'] } },
        environment: { PGDATA: '/var/lib/pg', POSTGRES_PASSWORD: '${shop_db_1_postgres_password}' },
      },
      web: {
        image: 'local/busybox:1',
        container_name: 'shop-web-1',
        ports: ['8080:80'],
        networks: { shop_backend: { aliases: ['web'] } },
        depends_on: { db: { condition: 'service_healthy' } },
      },
    },
    networks: { shop_backend: { internal: true, labels: { team: 'shop' } } },
    volumes: { shop_pgdata: {} },
  });
  assert.deepEqual(layers.native, { containers: { cache: { image: 'local/busybox:1', env: { MOTD: '$${HOME}', API_TOKEN: '${cache_api_token}' } } } });
  assert.deepEqual(
    layers.secrets.map((s) => [s.resource, s.key, s.variable, s.value]),
    [
      ['container/shop-db-1', 'POSTGRES_PASSWORD', 'shop_db_1_postgres_password', 'hunter2$x'],
      ['container/cache', 'API_TOKEN', 'cache_api_token', 't0k3n'],
    ],
  );
});

test('without recipients a secret is left out of the layer entirely (listed, never a placeholder)', () => {
  const c = container({ Config: { Env: [...image.Env!, 'db_password=pw', 'SECRET_KEY_BASE=k', 'PORT=80'] } });
  const layers = containerLayers(engine([c]), false, new Set());
  assert.deepEqual((layers.native?.containers as Record<string, { env: unknown }>).web?.env, { PORT: '80' });
  assert.deepEqual(layers.secrets.map((s) => s.key), ['db_password', 'SECRET_KEY_BASE']);
  assert.doesNotMatch(JSON.stringify(layers.native), /pw|"k"/);
});

test('secret names, private keys, variable names, escaping', () => {
  for (const name of ['DB_PASSWORD', 'api_token', 'Secret', 'SSH_KEY', 'keycloak_url']) assert.equal(isSecretEnvName(name), true, name);
  for (const name of ['PATH', 'PORT', 'TZ', 'PASSWD']) assert.equal(isSecretEnvName(name), false, name);
  assert.equal(holdsPrivateKey('-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n'), true);
  assert.equal(holdsPrivateKey('x\n-----BEGIN EC PRIVATE KEY-----\n'), true);
  assert.equal(holdsPrivateKey('-----BEGIN PRIVATE KEY-----\n'), true);
  assert.equal(holdsPrivateKey('-----BEGIN CERTIFICATE-----\n'), false);
  const taken = new Set<string>();
  assert.equal(secretVariable(['9web', 'KEY'], taken), 's_9web_key');
  assert.equal(secretVariable(['9web', 'KEY'], taken), 's_9web_key_2');
  assert.deepEqual(escapeNative({ a: ['${X}', '$HOME'] }), { a: ['$${X}', '$HOME'] });
  assert.deepEqual(escapeCompose({ a: '${X} $HOME $$' }), { a: '$${X} $$HOME $$$$' });
  assert.equal(nsToDuration(1_500_000_000), '1500ms');
  assert.equal(nsToDuration(90e9), '90s');
  assert.equal(bytesToSize(3 * 1024 ** 3), '3g');
  assert.equal(bytesToSize(1536 * 1024), '1536k');
  assert.equal(bytesToSize(1000), 1000);
});
