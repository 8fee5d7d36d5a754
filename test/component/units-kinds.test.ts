// Unit kinds the way distributions use them, converged with the in-memory
// drivers (the same twin test/contract/units.test.ts holds to real systemd):
// timer-run oneshots, socket-activated templates, drop-ins on a unit the
// distribution ships, masks, and the validation of `state` on a oneshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { converge } from '../../agent/engine/converge.ts';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { emptyInventory, type Inventory } from '../../agent/engine/model.ts';
import { UnitSpec, type DesiredResource } from '../../shared/resources.ts';
import { desired, unit } from '../helpers/desired.ts';

function setup() {
  const units = new MemoryUnitDriver();
  const drivers = { containers: new MemoryContainerDriver({ images: [] }), units, files: new MemoryFileDriver({ allow: ['/srv'] }) };
  let inventory: Inventory = emptyInventory();
  const run = async (resources: DesiredResource[], allowEmpty = false) => {
    // Every case here ends healthy, which ends the gate: the timeout only bounds a loaded machine's stalls.
    const result = await converge(drivers, desired(resources, { allowEmpty }), inventory, { revision: 'r1', settleMs: 20, pollMs: 5, healthTimeoutMs: 10_000, saveInventory: async () => undefined });
    inventory = result.inventory;
    return result;
  };
  const one = async (name: string) => (await units.observe([name]))[0]!;
  return { units, run, one };
}

const oneshot = '[Unit]\nDescription=rotate\n[Service]\nType=oneshot\nExecStart=/bin/true\n';
const timer = '[Unit]\nDescription=rotate daily\n[Timer]\nOnCalendar=daily\nPersistent=true\nRandomizedDelaySec=1h\n[Install]\nWantedBy=timers.target\n';

test('a oneshot without state that a timer runs: converged without starting it, then a no-op', async () => {
  const x = setup();
  const resources = [unit('rotate.service', { content: oneshot }), unit('rotate.timer', { content: timer })];
  const first = await x.run(resources);
  assert.deepEqual(first.failures, []);
  assert.equal(first.converged, true);
  assert.equal(first.healthy, true);
  assert.ok(!x.units.calls.includes('start rotate.service'), x.units.calls.join(', '));
  assert.deepEqual([(await x.one('rotate.timer')).activeState, (await x.one('rotate.timer')).unitFileState], ['active', 'enabled']);
  x.units.calls.length = 0;
  const second = await x.run(resources);
  assert.deepEqual([second.intended, second.driftCorrected, x.units.calls], [[], [], []]);
});

test('a oneshot without a timer is not started either; its failed last run is Degraded with the exit code', async () => {
  const x = setup();
  const r = unit('setup.service', { content: '[Service]\nType=oneshot\nExecStart=/bin/false\n[Install]\nWantedBy=multi-user.target\n' });
  let result = await x.run([r]);
  assert.deepEqual([result.converged, result.healthy, (await x.one('setup.service')).unitFileState], [true, true, 'enabled']);
  await x.units.start('setup.service').catch(() => undefined); // the boot runs it, and it fails
  result = await x.run([r]);
  const s = result.statuses[0]!;
  assert.deepEqual([s.sync, s.health], ['InSync', 'Degraded']);
  assert.match(s.message ?? '', /last run failed \(exit-code, exit code 1\)/);
  assert.deepEqual(result.intended, [], 'a failed run is reported, not re-run by the agent');
});

test('state: running on a oneshot without RemainAfterExit is a validation error with a hint; with it, it is kept running', () => {
  const bad = UnitSpec.safeParse({ content: oneshot, state: 'running' });
  assert.equal(bad.success, false);
  assert.match(bad.error?.issues[0]?.message ?? '', /RemainAfterExit=yes/);
  assert.deepEqual(bad.error?.issues[0]?.path, ['state']);
  assert.equal(UnitSpec.safeParse({ content: oneshot.replace('Type=oneshot', 'Type=oneshot\nRemainAfterExit=yes'), state: 'running' }).success, true);
  assert.equal(UnitSpec.safeParse({ drift: 'report' }).success, false, 'no content, drop-ins, enabled or state: nothing to manage');
  assert.equal(UnitSpec.safeParse({ state: 'running' }).success, true, 'an instance of a declared template, or a unit the distribution ships');
  assert.equal(UnitSpec.safeParse({ state: 'masked', content: oneshot }).success, false);
  assert.equal(UnitSpec.safeParse({ state: 'masked' }).success, true);
  assert.equal(UnitSpec.safeParse({ dropins: { 'proxy.conf': '[Service]\n' } }).success, true);
});

test('a socket with Accept=yes and its template: the template is observed before it exists, neither is failed', async () => {
  const x = setup();
  const resources = [
    unit('echo.socket', { content: '[Socket]\nListenStream=127.0.0.1:7\nAccept=yes\n[Install]\nWantedBy=sockets.target\n' }),
    unit('echo@.service', { content: '[Service]\nExecStart=/bin/cat\nStandardInput=socket\n' }),
  ];
  const first = await x.run(resources);
  assert.deepEqual([first.failures, first.converged, first.healthy], [[], true, true]);
  x.units.calls.length = 0;
  await x.run(resources);
  assert.deepEqual([...x.units.calls], []);
});

test('drop-ins on a unit the distribution ships: only marked drop-ins are the agent’s; change restarts it; prune removes only them', async () => {
  const x = setup();
  x.units.hand.vendor('dockerd.service', '[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n');
  x.units.hand.dropin('dockerd.service', '10-package.conf', '[Service]\nLimitNOFILE=1024\n');
  await x.units.enable('dockerd.service');
  await x.units.start('dockerd.service');
  const proxy = (p: string) => unit('dockerd.service', { content: undefined, dropins: { 'proxy.conf': `[Service]\nEnvironment=HTTP_PROXY=${p}\n` } });
  let result = await x.run([proxy('http://192.0.2.1:3128')]);
  assert.deepEqual([result.converged, result.healthy], [true, true]);
  let live = await x.one('dockerd.service');
  assert.equal(live.content, null, 'the unit file is never written');
  assert.deepEqual(Object.keys(live.dropins), ['10-package.conf', 'proxy.conf']);
  assert.match(live.dropins['proxy.conf']!, /^# Managed by gitfleet \(unit\/dockerd\.service\)/);
  assert.ok(x.units.calls.includes('restart dockerd.service'), x.units.calls.join(', '));
  x.units.calls.length = 0;
  result = await x.run([proxy('http://192.0.2.1:3128')]);
  assert.deepEqual([...x.units.calls], [], 'a no-op');
  result = await x.run([proxy('http://192.0.2.2:3128')]);
  assert.deepEqual([...x.units.calls], ['write dockerd.service', 'daemon-reload', 'restart dockerd.service']);
  x.units.calls.length = 0;
  result = await x.run([], true);
  live = await x.one('dockerd.service');
  assert.deepEqual([Object.keys(live.dropins), live.activeState, live.unitFileState], [['10-package.conf'], 'active', 'enabled']);
  assert.ok(!x.units.calls.some((c) => c.startsWith('delete') || c.startsWith('stop') || c.startsWith('disable')), x.units.calls.join(', '));
});

test('state: masked masks the distribution’s timer, stops it, corrects a hand unmask; prune unmasks it', async () => {
  const x = setup();
  x.units.hand.vendor('apt-upgrade.timer', timer);
  x.units.hand.vendor('apt-upgrade.service', oneshot);
  await x.units.enable('apt-upgrade.timer');
  await x.units.start('apt-upgrade.timer');
  const masked = unit('apt-upgrade.timer', { content: undefined, state: 'masked' });
  let result = await x.run([masked]);
  assert.deepEqual([result.converged, result.healthy], [true, true]);
  let live = await x.one('apt-upgrade.timer');
  assert.deepEqual([live.unitFileState, live.activeState], ['masked', 'inactive']);
  x.units.calls.length = 0;
  await x.run([masked]);
  assert.deepEqual([...x.units.calls], [], 'a no-op');
  x.units.hand.unmask('apt-upgrade.timer');
  result = await x.run([masked]);
  assert.ok(result.driftCorrected.some((l) => l.startsWith('unit.mask')), result.driftCorrected.join(', '));
  assert.equal((await x.one('apt-upgrade.timer')).unitFileState, 'masked');
  await x.run([], true);
  live = await x.one('apt-upgrade.timer');
  assert.deepEqual([live.unitFileState, live.loadState], ['enabled', 'loaded']);
});

test('state: masked over a unit file the agent did not write is refused with the reason, nothing touched', async () => {
  const x = setup();
  await x.units.write('local.service', '[Service]\nExecStart=/bin/sleep infinity\n', {});
  x.units.calls.length = 0;
  const result = await x.run([unit('local.service', { content: undefined, state: 'masked' })]);
  const s = result.statuses[0]!;
  assert.deepEqual([s.sync, s.health], ['Failed', 'Degraded']);
  assert.match(s.message ?? '', /cannot mask local\.service: .* the agent did not write/);
  assert.deepEqual([...x.units.calls], []);
});

test('a unit that fails carries its journal lines and exit code in its status', async () => {
  const x = setup();
  const result = await x.run([unit('broken.service', { content: '[Service]\nExecStart=/bin/false\n' })]);
  const s = result.statuses[0]!;
  assert.equal(s.health, 'Degraded');
  assert.equal(s.exitCode, 1);
  assert.ok(s.logs?.some((l) => l.includes("Failed with result 'exit-code'")), JSON.stringify(s.logs));
});
