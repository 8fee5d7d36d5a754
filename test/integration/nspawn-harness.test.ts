// The systemd-host harness itself (test/harness/nspawn.ts): hosts boot
// concurrently with their own hostname, machine id, cgroup and copy-on-write
// root; exec runs in the host with a clean environment; power-off leaves
// nothing mounted or behind.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireComponent } from '../harness/require.ts';
import { baseTree, bootHost, listHosts, stateRoot, systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';

const names = [`gf-harness-a-${process.pid}`, `gf-harness-b-${process.pid}`];
let hosts: SystemdHost[] = [];
after(async () => {
  for (const h of hosts) await h.poweroff().catch(() => undefined);
});

test('two hosts boot at once, each with its own hostname, machine id, cgroup and root', async (t) => {
  if (!requireComponent(t, 'a systemd host (systemd-nspawn)', systemdHostsAvailable())) return;
  const started = Date.now();
  hosts = await Promise.all(names.map((n) => bootHost(n)));
  t.diagnostic(`2 hosts booted in ${Date.now() - started} ms`);
  const [a, b] = hosts as [SystemdHost, SystemdHost];
  for (const [h, name] of [[a, names[0]], [b, names[1]]] as const) {
    const r = await h.exec(['sh', '-c', 'hostname; systemctl is-system-running']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${name}\\n(running|degraded)\\n$`));
    assert.match(readFileSync(`/proc/${h.pid1}/cgroup`, 'utf8'), new RegExp(`gitfleet-test/${name}/`), 'PID 1 is in the host’s own cgroup');
  }
  const ids = await Promise.all(hosts.map(async (h) => (await h.exec(['cat', '/etc/machine-id'])).stdout.trim()));
  assert.match(ids[0]!, /^[0-9a-f]{32}$/);
  assert.notEqual(ids[0], ids[1]);

  // Copy-on-write: a write in one host is seen neither in the other nor in the cached base.
  assert.equal((await a.exec(['sh', '-c', 'echo only-a > /etc/gf-cow-check'])).code, 0);
  assert.equal(readFileSync(join(a.rootDir, 'etc/gf-cow-check'), 'utf8'), 'only-a\n');
  assert.equal(existsSync(join(b.rootDir, 'etc/gf-cow-check')), false);
  assert.equal(existsSync(join(baseTree, 'etc/gf-cow-check')), false);
  assert.deepEqual(listHosts().filter((h) => names.includes(h.name)).map((h) => h.running), [true, true]);
  await assert.rejects(bootHost(names[0]!), /already running/);
});

test('exec: exit codes, stdin, a clean environment; node and the project are bound read-only', async (t) => {
  if (!requireComponent(t, 'a systemd host (systemd-nspawn)', systemdHostsAvailable())) return;
  const h = hosts[0];
  assert.ok(h, 'the first test booted the hosts');
  process.env.GITFLEET_LEAK_CHECK = 'vm-only';
  const env = await h.exec(['env']);
  assert.equal(env.code, 0);
  assert.ok(!env.stdout.includes('GITFLEET_LEAK_CHECK'), 'the VM environment does not leak in');
  assert.match(env.stdout, /^HOME=\/root$/m);
  assert.deepEqual(await h.exec(['cat'], { input: 'through stdin' }), { code: 0, stdout: 'through stdin', stderr: '' });
  assert.equal((await h.exec(['sh', '-c', 'exit 7'])).code, 7);
  const node = await h.exec(['node', '-e', 'console.log(process.version)']);
  assert.equal(node.stdout.trim(), process.version);
  assert.ok((await h.exec(['test', '-f', '/opt/gitfleet/package.json'])).code === 0);
  const write = await h.exec(['touch', '/opt/gitfleet/gf-should-fail']);
  assert.notEqual(write.code, 0, 'the project is read-only inside the host');
  assert.match(write.stderr, /Read-only file system/);
  const docker = await h.exec(['test', '-S', '/var/run/docker.sock']);
  assert.equal(docker.code === 0, existsSync('/var/run/docker.sock'), 'the docker socket is bound exactly when the VM has one');
});

test('power-off is clean: no process, mount, cgroup or directory left', async (t) => {
  if (!requireComponent(t, 'a systemd host (systemd-nspawn)', systemdHostsAvailable())) return;
  const started = Date.now();
  await Promise.all(hosts.map((h) => h.poweroff()));
  t.diagnostic(`2 hosts powered off in ${Date.now() - started} ms`);
  const mounts = readFileSync('/proc/self/mounts', 'utf8');
  for (const [i, name] of names.entries()) {
    assert.equal(existsSync(`/proc/${hosts[i]!.pid1}`), false, `${name}'s PID 1 is gone`);
    assert.ok(!mounts.includes(join(stateRoot, name)), `${name} is unmounted`);
    assert.equal(existsSync(join(stateRoot, name)), false);
    assert.equal(existsSync(`/sys/fs/cgroup/systemd/gitfleet-test/${name}`), false);
    assert.equal(existsSync(`/sys/fs/cgroup/unified/gitfleet-test/${name}`), false);
  }
  hosts = [];
});
