// The unit driver against what Debian packages ship: the corpus in
// test/fixtures/debian-units (timers with Persistent=/RandomizedDelaySec=,
// sockets with and without Accept=, templates and instances, Alias=/Also=,
// notify/forking/oneshot/RemainAfterExit/idle services, a path unit, a false
// ConditionPathExists=, user-defined targets) converged on a real systemd host,
// then a no-op on the next reconcile; the same corpus through the twin. Plus a
// drop-in on, and a mask of, units the host's own packages installed.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { converge } from '../../agent/engine/converge.ts';
import { emptyInventory, type Inventory } from '../../agent/engine/model.ts';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { createSystemctlUnitDriver } from '../../agent/drivers/systemd/index.ts';
import type { UnitDriver } from '../../agent/drivers/types.ts';
import type { DesiredResource } from '../../shared/resources.ts';
import { desired, unit } from '../helpers/desired.ts';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';
import { corpusKinds, corpusResources, expectedActive } from '../fixtures/debian-units/corpus.ts';

const hosts: SystemdHost[] = [];
after(async () => {
  await Promise.all(hosts.map((h) => h.poweroff()));
});

async function realHost(t: TestContext, tag: string): Promise<{ host: SystemdHost; units: UnitDriver } | null> {
  if (!requireComponent(t, 'a systemd host (systemd-nspawn)', systemdHostsAvailable())) return null;
  const host = await bootHost(`gf-deb-${tag}-${process.pid}`, { bindProject: false, bindDocker: false });
  hosts.push(host);
  return { host, units: createSystemctlUnitDriver({ unitDir: join(host.rootDir, 'etc/systemd/system'), run: (argv) => host.exec(argv) }) };
}

function convergeWith(units: UnitDriver) {
  const drivers = { units, containers: new MemoryContainerDriver({ images: [] }), files: new MemoryFileDriver({ allow: ['/srv'] }) };
  let inventory: Inventory = emptyInventory();
  return async (resources: DesiredResource[], allowEmpty = false) => {
    const result = await converge(drivers, desired(resources, { allowEmpty }), inventory, {
      revision: 'r1',
      healthTimeoutMs: 20_000,
      settleMs: 300,
      pollMs: 100,
      saveInventory: async () => undefined,
    });
    inventory = result.inventory;
    return result;
  };
}

async function corpusConvergesThenNoop(units: UnitDriver): Promise<void> {
  const resources = corpusResources();
  const run = convergeWith(units);
  const first = await run(resources);
  assert.deepEqual(first.failures, [], 'no step failed');
  const unhealthy = first.statuses.filter((s) => s.sync !== 'InSync' || s.health !== 'Healthy');
  assert.deepEqual(unhealthy, [], 'every unit in sync and healthy');
  const live = await units.observe(resources.map((r) => r.name));
  assert.deepEqual(
    Object.fromEntries(live.map((u) => [u.name, u.activeState])),
    expectedActive,
    'each unit as Debian would have it: long-running ones active, timer/socket/path-run ones waiting',
  );
  const byName = new Map(live.map((u) => [u.name, u]));
  assert.equal(byName.get('gf-needs-config.service')?.conditionMet, false);
  assert.equal(byName.get('gf-print.service')?.unitFileState, 'enabled');
  assert.equal(byName.get('gf-tmpclean.timer')?.unitFileState, 'static');
  const second = await run(resources);
  assert.deepEqual([second.intended, second.driftCorrected, second.failures, second.passes], [[], [], [], 0], 'the next reconcile is a no-op');
  assert.equal(second.healthy, true);
}

test(`the Debian corpus (${Object.entries(corpusKinds()).map(([k, n]) => `${n} ${k}`).join(', ')}) on the twin: converges, then a no-op`, async () => {
  await corpusConvergesThenNoop(new MemoryUnitDriver());
});

test('the Debian corpus on a real systemd host: converges, then a no-op', async (t) => {
  const x = await realHost(t, 'corpus');
  if (!x) return;
  await corpusConvergesThenNoop(x.units);
  // The units really work: the Accept=yes socket listens, the forking daemon wrote its PID file, notify reached READY.
  assert.ok(existsSync(join(x.host.rootDir, 'run/gf-echo.sock')));
  assert.match(readFileSync(join(x.host.rootDir, 'run/gf-forkd.pid'), 'utf8'), /^\d+\n$/);
  const alias = await x.host.exec(['systemctl', 'is-enabled', 'gf-notifyd-alias.service']);
  assert.equal(alias.stdout.trim(), 'alias', 'Alias= was installed by enable');
});

test("a drop-in on the host's own systemd-journald.service and a mask of its apt-daily-upgrade.timer, corrected and pruned", async (t) => {
  const x = await realHost(t, 'distro');
  if (!x) return;
  const { host, units } = x;
  const must = async (argv: string[]) => {
    const r = await host.exec(argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  // The base tree masks the apt timers for a quiet boot: undo that, as on a stock Debian host.
  await must(['systemctl', 'unmask', 'apt-daily-upgrade.timer']);
  await must(['systemctl', 'enable', '--now', 'apt-daily-upgrade.timer']);
  const vendorFile = readFileSync(join(host.rootDir, 'lib/systemd/system/systemd-journald.service'), 'utf8');
  const resources = [
    unit('systemd-journald.service', { content: undefined, dropins: { 'gf-limits.conf': '[Service]\nLogLevelMax=info\n' } }),
    unit('apt-daily-upgrade.timer', { content: undefined, state: 'masked' }),
  ];
  const run = convergeWith(units);
  const first = await run(resources);
  assert.deepEqual(first.failures, []);
  assert.deepEqual(first.statuses.map((s) => [s.id, s.sync, s.health]), [
    ['unit/systemd-journald.service', 'InSync', 'Healthy'],
    ['unit/apt-daily-upgrade.timer', 'InSync', 'Healthy'],
  ]);
  assert.equal((await must(['systemctl', 'show', '-p', 'LogLevelMax', '--value', 'systemd-journald.service'])).trim(), '6', 'info, as systemd shows it');
  assert.equal((await must(['systemctl', 'is-active', 'systemd-journald.service'])).trim(), 'active');
  assert.equal(readFileSync(join(host.rootDir, 'lib/systemd/system/systemd-journald.service'), 'utf8'), vendorFile, "the package's unit file is untouched");
  assert.ok(!existsSync(join(host.rootDir, 'etc/systemd/system/systemd-journald.service')), 'no copy of the unit file in /etc');
  const timer = (await units.observe(['apt-daily-upgrade.timer']))[0]!;
  assert.deepEqual([timer.unitFileState, timer.activeState], ['masked', 'inactive']);
  assert.deepEqual((await run(resources)).passes, 0, 'a no-op');

  // Unmasked by hand: corrected.
  await must(['systemctl', 'unmask', 'apt-daily-upgrade.timer']);
  const fixed = await run(resources);
  assert.ok(fixed.driftCorrected.some((l) => l.startsWith('unit.mask unit/apt-daily-upgrade.timer')), fixed.driftCorrected.join(', '));
  assert.equal((await units.observe(['apt-daily-upgrade.timer']))[0]?.unitFileState, 'masked');

  // Prune: the drop-in goes (the unit keeps running without it), the mask is lifted.
  const pruned = await run([], true);
  assert.deepEqual(pruned.failures, []);
  assert.ok(!existsSync(join(host.rootDir, 'etc/systemd/system/systemd-journald.service.d/gf-limits.conf')));
  assert.notEqual((await must(['systemctl', 'show', '-p', 'LogLevelMax', '--value', 'systemd-journald.service'])).trim(), '6');
  assert.equal((await units.observe(['apt-daily-upgrade.timer']))[0]?.unitFileState, 'enabled');
});
