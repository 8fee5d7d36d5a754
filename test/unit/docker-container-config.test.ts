// The spec → Engine API translation, key by key (the integration test proves
// the same keys land on a real container).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerSpecKeys, toCreateBody } from '../../agent/drivers/docker/container-config.ts';
import { isGitfleetError } from '../../shared/errors.ts';
import { ContainerSpec } from '../../shared/resources.ts';

const image = 'local/busybox:1';

const cases: Array<{ name: string; spec: Partial<ContainerSpec>; expect: (b: ReturnType<typeof toCreateBody>) => unknown; want: unknown }> = [
  { name: 'image', spec: {}, expect: (b) => b.Image, want: image },
  { name: 'command list passes through', spec: { command: ['sh', '-c', 'echo $HOME'] }, expect: (b) => b.Cmd, want: ['sh', '-c', 'echo $HOME'] },
  { name: 'command string is split like a shell, no sh -c', spec: { command: `sleep "36 00" 'a b' c\\ d $HOME` }, expect: (b) => b.Cmd, want: ['sleep', '36 00', 'a b', 'c d', '$HOME'] },
  { name: 'command with escaped quote in double quotes', spec: { command: 'echo "say \\"hi\\""' }, expect: (b) => b.Cmd, want: ['echo', 'say "hi"'] },
  { name: 'empty quoted word kept', spec: { command: `echo ''` }, expect: (b) => b.Cmd, want: ['echo', ''] },
  { name: 'entrypoint string', spec: { entrypoint: '/bin/sh -c' }, expect: (b) => b.Entrypoint, want: ['/bin/sh', '-c'] },
  { name: 'entrypoint list', spec: { entrypoint: ['/bin/sh'] }, expect: (b) => b.Entrypoint, want: ['/bin/sh'] },
  { name: 'env stringifies numbers and booleans', spec: { env: { A: 'x', N: 3, B: true, F: false, E: '' } }, expect: (b) => b.Env, want: ['A=x', 'N=3', 'B=true', 'F=false', 'E='] },
  { name: 'ports: container only', spec: { ports: ['80'] }, expect: (b) => [b.ExposedPorts, b.HostConfig.PortBindings], want: [{ '80/tcp': {} }, { '80/tcp': [{ HostIp: '', HostPort: '' }] }] },
  { name: 'ports: number', spec: { ports: [9000] }, expect: (b) => b.HostConfig.PortBindings, want: { '9000/tcp': [{ HostIp: '', HostPort: '' }] } },
  { name: 'ports: host:container', spec: { ports: ['8080:80'] }, expect: (b) => b.HostConfig.PortBindings, want: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } },
  { name: 'ports: ip:host:container/udp', spec: { ports: ['127.0.0.1:5353:53/udp'] }, expect: (b) => [b.ExposedPorts, b.HostConfig.PortBindings], want: [{ '53/udp': {} }, { '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }] }] },
  { name: 'ports: ip with ephemeral host port', spec: { ports: ['127.0.0.1::80'] }, expect: (b) => b.HostConfig.PortBindings, want: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  { name: 'ports: IPv6', spec: { ports: ['[::1]:8080:80'] }, expect: (b) => b.HostConfig.PortBindings, want: { '80/tcp': [{ HostIp: '::1', HostPort: '8080' }] } },
  { name: 'ports: ranges', spec: { ports: ['8000-8001:9000-9001'] }, expect: (b) => b.HostConfig.PortBindings, want: { '9000/tcp': [{ HostIp: '', HostPort: '8000' }], '9001/tcp': [{ HostIp: '', HostPort: '8001' }] } },
  { name: 'ports: one container port on two host ports', spec: { ports: ['8080:80', '8081:80'] }, expect: (b) => b.HostConfig.PortBindings, want: { '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '', HostPort: '8081' }] } },
  { name: 'volumes: bind, ro bind, named, anonymous', spec: { volumes: ['/srv:/data', '/etc/x:/x:ro', 'cache:/cache', '/scratch'] }, expect: (b) => [b.HostConfig.Binds, b.Volumes], want: [['/srv:/data', '/etc/x:/x:ro', 'cache:/cache'], { '/scratch': {} }] },
  { name: 'restart', spec: { restart: 'unless-stopped' }, expect: (b) => b.HostConfig.RestartPolicy, want: { Name: 'unless-stopped', MaximumRetryCount: 0 } },
  { name: 'network', spec: { network: 'none' }, expect: (b) => b.HostConfig.NetworkMode, want: 'none' },
  { name: 'network_mode (Compose name of network)', spec: { network_mode: 'host' }, expect: (b) => b.HostConfig.NetworkMode, want: 'host' },
  { name: 'environment (Compose name of env)', spec: { environment: { A: 1 } }, expect: (b) => b.Env, want: ['A=1'] },
  { name: 'networks: the first joined at create, with aliases', spec: { networks: { back: { aliases: ['db'] }, front: null } }, expect: (b) => [b.HostConfig.NetworkMode, b.NetworkingConfig], want: ['back', { EndpointsConfig: { back: { Aliases: ['db'] } } }] },
  { name: 'networks: list form', spec: { networks: ['back'] }, expect: (b) => b.NetworkingConfig, want: { EndpointsConfig: { back: {} } } },
  { name: 'mem_reservation', spec: { mem_reservation: '64m' }, expect: (b) => b.HostConfig.MemoryReservation, want: 64 * 1024 * 1024 },
  { name: 'pids_limit', spec: { pids_limit: 100 }, expect: (b) => b.HostConfig.PidsLimit, want: 100 },
  { name: 'labels merged, ownership labels win', spec: { labels: { team: 'a', 'io.gitfleet.managed-by': 'forged' } }, expect: (b) => b.Labels, want: { team: 'a', 'io.gitfleet.managed-by': 'gitfleet' } },
  { name: 'healthcheck string → CMD-SHELL, durations → ns', spec: { healthcheck: { test: 'wget -q -O- localhost', interval: '1m30s', timeout: '500ms', start_period: 2, retries: 3 } }, expect: (b) => b.Healthcheck, want: { Test: ['CMD-SHELL', 'wget -q -O- localhost'], Interval: 90e9, Timeout: 5e8, StartPeriod: 2e9, Retries: 3 } },
  { name: 'healthcheck list', spec: { healthcheck: { test: ['CMD', 'true'] } }, expect: (b) => b.Healthcheck, want: { Test: ['CMD', 'true'] } },
  { name: 'healthcheck disable', spec: { healthcheck: { test: 'true', disable: true } }, expect: (b) => b.Healthcheck, want: { Test: ['NONE'] } },
  { name: 'pull/state/drift/depends_on do not touch the body', spec: { pull: 'always', state: 'stopped', drift: 'report', depends_on: ['container/db'] }, expect: (b) => b, want: { Image: image, Labels: { 'io.gitfleet.managed-by': 'gitfleet' }, HostConfig: {} } },
  { name: 'user', spec: { user: '65534:65534' }, expect: (b) => b.User, want: '65534:65534' },
  { name: 'working_dir', spec: { working_dir: '/tmp' }, expect: (b) => b.WorkingDir, want: '/tmp' },
  { name: 'hostname', spec: { hostname: 'web1' }, expect: (b) => b.Hostname, want: 'web1' },
  { name: 'privileged', spec: { privileged: true }, expect: (b) => b.HostConfig.Privileged, want: true },
  { name: 'init', spec: { init: true }, expect: (b) => b.HostConfig.Init, want: true },
  { name: 'read_only', spec: { read_only: true }, expect: (b) => b.HostConfig.ReadonlyRootfs, want: true },
  { name: 'cap_add / cap_drop', spec: { cap_add: ['NET_ADMIN'], cap_drop: ['ALL'] }, expect: (b) => [b.HostConfig.CapAdd, b.HostConfig.CapDrop], want: [['NET_ADMIN'], ['ALL']] },
  { name: 'devices short and long', spec: { devices: ['/dev/null', '/dev/zero:/dev/z:r'] }, expect: (b) => b.HostConfig.Devices, want: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/null', CgroupPermissions: 'rwm' }, { PathOnHost: '/dev/zero', PathInContainer: '/dev/z', CgroupPermissions: 'r' }] },
  { name: 'mem_limit 512m', spec: { mem_limit: '512m' }, expect: (b) => b.HostConfig.Memory, want: 512 * 1024 * 1024 },
  { name: 'mem_limit 1.5g', spec: { mem_limit: '1.5g' }, expect: (b) => b.HostConfig.Memory, want: 1.5 * 1024 ** 3 },
  { name: 'mem_limit 64MB', spec: { mem_limit: '64MB' }, expect: (b) => b.HostConfig.Memory, want: 64 * 1024 ** 2 },
  { name: 'mem_limit bytes', spec: { mem_limit: 1048576 }, expect: (b) => b.HostConfig.Memory, want: 1048576 },
  { name: 'cpus', spec: { cpus: '0.5' }, expect: (b) => b.HostConfig.NanoCpus, want: 5e8 },
  { name: 'logging', spec: { logging: { driver: 'json-file', options: { 'max-size': '1m' } } }, expect: (b) => b.HostConfig.LogConfig, want: { Type: 'json-file', Config: { 'max-size': '1m' } } },
  { name: 'extra_hosts both syntaxes, IPv6 keeps colons', spec: { extra_hosts: ['db:192.0.2.10', 'cache=192.0.2.11', 'v6:::1'] }, expect: (b) => b.HostConfig.ExtraHosts, want: ['db:192.0.2.10', 'cache:192.0.2.11', 'v6:::1'] },
  { name: 'tmpfs string', spec: { tmpfs: '/run' }, expect: (b) => b.HostConfig.Tmpfs, want: { '/run': '' } },
  { name: 'tmpfs list with options', spec: { tmpfs: ['/run:size=1m,mode=1777', '/tmp'] }, expect: (b) => b.HostConfig.Tmpfs, want: { '/run': 'size=1m,mode=1777', '/tmp': '' } },
  { name: 'ulimits', spec: { ulimits: { nproc: 512, nofile: { soft: 1024, hard: 2048 } } }, expect: (b) => b.HostConfig.Ulimits, want: [{ Name: 'nproc', Soft: 512, Hard: 512 }, { Name: 'nofile', Soft: 1024, Hard: 2048 }] },
  { name: 'stop_signal', spec: { stop_signal: 'SIGINT' }, expect: (b) => b.StopSignal, want: 'SIGINT' },
  { name: 'stop_grace_period rounds up to whole seconds', spec: { stop_grace_period: '1m500ms' }, expect: (b) => b.StopTimeout, want: 61 },
  { name: 'stop_grace_period number of seconds', spec: { stop_grace_period: 3 }, expect: (b) => b.StopTimeout, want: 3 },
];

for (const c of cases) {
  test(`toCreateBody: ${c.name}`, () => {
    const spec = ContainerSpec.parse({ image, ...c.spec });
    assert.deepEqual(c.expect(toCreateBody(spec, { 'io.gitfleet.managed-by': 'gitfleet' })), c.want);
  });
}

const invalidCases: Array<{ spec: Partial<ContainerSpec>; key: string; mentions: RegExp }> = [
  { spec: { command: 'echo "unterminated' }, key: 'command', mentions: /quote is not closed/ },
  { spec: { command: 'echo \\' }, key: 'command', mentions: /lone backslash/ },
  { spec: { ports: ['70000:80'] }, key: 'ports', mentions: /outside 1–65535/ },
  { spec: { ports: ['a:b:c:d'] }, key: 'ports', mentions: /too many colons/ },
  { spec: { ports: ['80/icmp'] }, key: 'ports', mentions: /unknown protocol icmp/ },
  { spec: { ports: ['8000-8002:80-81'] }, key: 'ports', mentions: /ranges differ/ },
  { spec: { ports: ['localhost:80:80'] }, key: 'ports', mentions: /not an IP address/ },
  { spec: { volumes: ['./data:/data'] }, key: 'volumes', mentions: /relative bind source/ },
  { spec: { volumes: ['/srv:data'] }, key: 'volumes', mentions: /not an absolute path/ },
  { spec: { volumes: ['/srv:/data:rx'] }, key: 'volumes', mentions: /unknown mode rx/ },
  { spec: { volumes: ['/a:/d', '/b:/d'] }, key: 'volumes', mentions: /mounted twice/ },
  { spec: { volumes: ['/a:/'] }, key: 'volumes', mentions: /cannot be \// },
  { spec: { volumes: ['a:b:c:d'] }, key: 'volumes', mentions: /wrong number of parts/ },
  { spec: { volumes: ['bad name!:/d'] }, key: 'volumes', mentions: /neither an absolute path nor a volume name/ },
  { spec: { healthcheck: { test: ['curl', 'x'] } }, key: 'healthcheck.test', mentions: /CMD, CMD-SHELL or NONE/ },
  { spec: { env: { 'A=B': 'x' } }, key: 'env', mentions: /variable name/ },
  { spec: { devices: ['dev/null'] }, key: 'devices', mentions: /device like/ },
  { spec: { extra_hosts: ['nohostip'] }, key: 'extra_hosts', mentions: /mapping like/ },
  { spec: { tmpfs: 'run' }, key: 'tmpfs', mentions: /absolute path/ },
  { spec: { mem_limit: '0m' }, key: 'mem_limit', mentions: /above zero/ },
];

for (const c of invalidCases) {
  test(`toCreateBody refuses ${JSON.stringify(c.spec)} with INVALID_VALUE naming ${c.key}`, () => {
    const spec = ContainerSpec.parse({ image, ...c.spec });
    assert.throws(() => toCreateBody(spec, {}), (error: unknown) => {
      assert.ok(isGitfleetError(error, 'INVALID_VALUE'), `got ${String(error)}`);
      assert.ok(error.message.startsWith(`${c.key}: `), error.message);
      assert.match(error.message, c.mentions);
      return true;
    });
  });
}

test('every ContainerSpec key has a translation (schema and translator agree)', () => {
  assert.deepEqual([...containerSpecKeys].sort(), Object.keys(ContainerSpec.shape).sort());
});

test('a spec still holding secrets (evaluation makes them file mounts) is refused without the value in the message', () => {
  const spec = ContainerSpec.parse({ image, secrets: { db: 'pw-never-in-a-message' } });
  assert.throws(() => toCreateBody(spec, {}), (error: unknown) => {
    assert.ok(isGitfleetError(error, 'INTERNAL'), `got ${String(error)}`);
    assert.ok(!error.message.includes('pw-never'), error.message);
    return true;
  });
});

test('toCreateBody does not mutate its inputs', () => {
  const spec = ContainerSpec.parse({ image, labels: { a: '1' }, env: { X: 1 } });
  const labels = { owner: 'me' };
  const before = JSON.stringify([spec, labels]);
  toCreateBody(spec, labels);
  assert.equal(JSON.stringify([spec, labels]), before);
});
