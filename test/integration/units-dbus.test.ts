// Reading the units' state over the D-Bus system bus must say exactly what
// `systemctl show` says: every unit a booted systemd host knows (services,
// sockets, timers, targets, mounts, devices, slices, scopes; loaded, not-found,
// masked, failed, killed) plus the driver's own kinds of trouble, read both
// ways, compared property by property.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';
import { busUnitProperties } from '../../agent/drivers/systemd/bus-unit-properties.ts';
import { BusConnection } from '../../agent/drivers/systemd/dbus-connection.ts';
import { parseShow, showProperties } from '../../agent/drivers/systemd/systemctl-show.ts';
import { isTemplateName } from '../../agent/drivers/systemd/unit-names.ts';
import { waitFor } from '../helpers/wait.ts';

let host: SystemdHost | null = null;
after(async () => {
  await host?.poweroff();
});

async function mustExec(h: SystemdHost, argv: string[]): Promise<string> {
  const r = await h.exec(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('over the bus and with systemctl show, every unit of a booted host reads the same', async (t) => {
  if (!requireComponent(t, 'a systemd host (systemd-nspawn)', systemdHostsAvailable())) return;
  host = await bootHost(`gf-units-dbus-${process.pid}`, { bindProject: false, bindDocker: false });
  const unitDir = join(host.rootDir, 'etc/systemd/system');
  // The states the driver reports on: failed with an exit code, killed by a
  // signal, a oneshot that remains, a timer's service, a unit whose condition failed.
  writeFileSync(join(unitDir, 'gfd-exit.service'), '[Service]\nExecStart=/bin/sh -c "exit 3"\n');
  writeFileSync(join(unitDir, 'gfd-killed.service'), '[Service]\nExecStart=/bin/sh -c "kill -KILL $$$$"\n');
  writeFileSync(join(unitDir, 'gfd-once.service'), '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n');
  writeFileSync(join(unitDir, 'gfd-tick.service'), '[Service]\nType=oneshot\nExecStart=/bin/true\n');
  writeFileSync(join(unitDir, 'gfd-tick.timer'), '[Timer]\nOnActiveSec=1h\n[Install]\nWantedBy=timers.target\n');
  writeFileSync(join(unitDir, 'gfd-never.service'), '[Unit]\nConditionPathExists=/nonexistent\n[Service]\nExecStart=/bin/true\n');
  await mustExec(host, ['systemctl', 'daemon-reload']);
  await mustExec(host, ['systemctl', 'mask', 'gfd-masked.service']);
  for (const unit of ['gfd-exit.service', 'gfd-killed.service', 'gfd-once.service', 'gfd-tick.timer', 'gfd-never.service']) await host.exec(['systemctl', 'start', unit]);
  const h = host;
  await waitFor('the failing units to fail', async () => (await h.exec(['systemctl', 'is-failed', 'gfd-exit.service', 'gfd-killed.service'])).stdout.trim() === 'failed\nfailed');
  // A file changed after the last reload: NeedDaemonReload.
  writeFileSync(join(unitDir, 'gfd-once.service'), '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nNice=1\n');

  const listed = (await mustExec(host, ['systemctl', 'list-units', '--all', '--plain', '--no-legend', '--no-pager'])).split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean);
  const ours = ['gfd-exit.service', 'gfd-killed.service', 'gfd-once.service', 'gfd-tick.service', 'gfd-tick.timer', 'gfd-never.service', 'gfd-masked.service', 'gfd-nowhere.service'];
  // Ours by name too: systemd forgets an inactive unit nothing refers to, and list-units then leaves it out.
  const names = [...new Set([...listed, ...ours])].filter((n) => !isTemplateName(n));
  assert.ok(names.length > 60, `only ${names.length} units listed`);
  const kinds = new Set(names.map((n) => n.slice(n.lastIndexOf('.') + 1)));
  for (const kind of ['service', 'socket', 'timer', 'target', 'mount', 'slice']) assert.ok(kinds.has(kind), `no ${kind} unit among ${[...kinds].join(', ')}`);

  const started = performance.now();
  const bus = await BusConnection.open(join(host.rootDir, 'run/dbus/system_bus_socket'), 10_000);
  const overBus = await busUnitProperties(bus, names, 10_000);
  const busMs = performance.now() - started;
  bus.close();
  const shown = parseShow(await mustExec(host, ['systemctl', 'show', '-p', showProperties.join(','), '--', ...names]));
  assert.equal(overBus.length, names.length);
  assert.equal(shown.length, names.length);
  const differences: string[] = [];
  names.forEach((name, i) => {
    for (const property of showProperties) {
      // systemctl leaves a property out when the unit has none; so does the bus reader.
      const a = overBus[i]![property];
      const b = shown[i]![property];
      if (a !== b) differences.push(`${name} ${property}: bus ${JSON.stringify(a)}, systemctl ${JSON.stringify(b)}`);
    }
  });
  assert.deepEqual(differences, []);
  // The cases above did come out as meant (so the comparison covered them).
  const byName = new Map(names.map((n, i) => [n, overBus[i]!]));
  assert.deepEqual([byName.get('gfd-exit.service')?.Result, byName.get('gfd-exit.service')?.ExecMainStatus], ['exit-code', '3']);
  assert.equal(byName.get('gfd-killed.service')?.Result, 'signal');
  assert.deepEqual([byName.get('gfd-once.service')?.SubState, byName.get('gfd-once.service')?.NeedDaemonReload], ['exited', 'yes']);
  assert.equal(byName.get('gfd-tick.service')?.TriggeredBy, 'gfd-tick.timer');
  assert.equal(byName.get('gfd-never.service')?.ConditionResult, 'no');
  assert.equal(byName.get('gfd-masked.service')?.LoadState, 'masked');
  assert.equal(byName.get('gfd-nowhere.service')?.LoadState, 'not-found');
  t.diagnostic(`${names.length} units (${[...kinds].sort().join(', ')}), read over the bus in ${busMs.toFixed(0)} ms`);
});
