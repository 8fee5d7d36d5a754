// The planner as a table: (desired, live, inventory) → steps and statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan } from '../../agent/engine/planner.ts';
import { containerHash } from '../../agent/engine/hash.ts';
import { ownershipLabels } from '../../agent/engine/plan-containers.ts';
import { renderUnitFile, unitMarker } from '../../agent/engine/plan-units.ts';
import { specHash } from '../../agent/engine/resource-plan.ts';
import type { DesiredState } from '../../shared/resources.ts';
import type { Inventory, LiveState } from '../../agent/engine/model.ts';
import { container, ctx, desired, file, inventory, live, liveContainer, liveFile, liveUnit, unit } from '../helpers/desired.ts';

const web = container('web', { command: ['sleep', '3600'] });
const ours = (c = web) => ownershipLabels(c, 'r0');
const applied = (r: DesiredState['resources'][number]) => ({ id: r.id, hash: specHash(r) });
const hello = unit('hello.service');
const conf = file('/etc/app/app.conf', { content: 'port = 1\n', mode: '0640', notify: ['unit/hello.service'] });

interface Row {
  name: string;
  desired: DesiredState;
  live: LiveState;
  inventory: Inventory;
  steps: string[];
  sync?: Record<string, string>;
  causes?: string[];
}

const rows: Row[] = [
  {
    name: 'a new container is pulled, created and started',
    desired: desired([web]),
    live: live(),
    inventory: inventory(),
    steps: ['container.pull container/web', 'container.create container/web'],
    sync: { 'container/web': 'Missing' },
    causes: ['intended', 'intended'],
  },
  {
    name: 'a container with the same config hash is left alone',
    desired: desired([web]),
    live: live({ containers: [liveContainer('web', ours())] }),
    inventory: inventory([applied(web)]),
    steps: [],
    sync: { 'container/web': 'InSync' },
  },
  {
    name: 'a container stopped by hand is started as a drift correction',
    desired: desired([web]),
    live: live({ containers: [liveContainer('web', ours(), { state: 'exited' })] }),
    inventory: inventory([applied(web)]),
    steps: ['container.start container/web'],
    causes: ['drift'],
  },
  {
    name: 'drift: report keeps the diff and drops the correction',
    desired: desired([container('web', { command: ['sleep', '3600'] }, 'report')]),
    live: live({ containers: [liveContainer('web', ours(), { state: 'exited' })] }),
    inventory: inventory([applied(web)]),
    steps: [],
    sync: { 'container/web': 'Drifted' },
  },
  {
    name: 'drift: ignore neither corrects nor shows drift',
    desired: desired([container('web', { command: ['sleep', '3600'] }, 'ignore')]),
    live: live({ containers: [liveContainer('web', ours(), { state: 'exited' })] }),
    inventory: inventory([applied(web)]),
    steps: [],
    sync: { 'container/web': 'Ignored' },
  },
  {
    name: 'an intended change is applied even under drift: report',
    desired: desired([container('web', { command: ['sleep', '60'] }, 'report')]),
    live: live({ containers: [liveContainer('web', ours())] }),
    inventory: inventory([applied(web)]),
    steps: ['container.pull container/web', 'container.remove container/web', 'container.create container/web'],
    causes: ['intended', 'intended', 'intended'],
  },
  {
    name: 'a changed spec recreates: pull the new image before removing the old container',
    desired: desired([container('web', { image: 'local/busybox:2', command: ['sleep', '3600'] })]),
    live: live({ containers: [liveContainer('web', ours())] }),
    inventory: inventory([applied(web)]),
    steps: ['container.pull container/web', 'container.remove container/web', 'container.create container/web'],
    sync: { 'container/web': 'OutOfSync' },
  },
  {
    name: 'an unmanaged container holding the name is never touched',
    desired: desired([web]),
    live: live({ containers: [liveContainer('web', {})] }),
    inventory: inventory(),
    steps: [],
    sync: { 'container/web': 'Failed' },
  },
  {
    name: 'a managed container replaced by hand under its name is put back',
    desired: desired([web]),
    live: live({ containers: [liveContainer('web', {}, { image: 'other:1' })] }),
    inventory: inventory([applied(web)]),
    steps: ['container.pull container/web', 'container.remove container/web', 'container.create container/web'],
    causes: ['drift', 'drift', 'drift'],
  },
  {
    name: 'a container no longer declared is pruned',
    desired: desired([web]),
    live: live({ containers: [liveContainer('web', ours()), liveContainer('old', ours(container('old')))] }),
    inventory: inventory([applied(web), { id: 'container/old', hash: 'x' }]),
    steps: ['container.remove container/old'],
    causes: ['prune'],
  },
  {
    name: 'prune never removes a container that is not ours, even under an inventoried name',
    desired: desired([web]),
    live: live({ containers: [liveContainer('web', ours()), liveContainer('old', {})] }),
    inventory: inventory([applied(web), { id: 'container/old', hash: 'x' }]),
    steps: [],
  },
  {
    name: 'containers are neither created nor pruned while Docker cannot be observed',
    desired: desired([web]),
    live: live({ unavailable: { container: 'connect ENOENT' } }),
    inventory: inventory([{ id: 'container/old', hash: 'x' }]),
    steps: [],
    sync: { 'container/web': 'Pending' },
  },
  {
    name: 'a new unit is written, reloaded, enabled and started in that order',
    desired: desired([hello]),
    live: live({ units: [liveUnit('hello.service', null, { unitFileState: 'not-found', activeState: 'inactive' })] }),
    inventory: inventory(),
    steps: ['unit.write unit/hello.service', 'unit.daemon-reload', 'unit.enable unit/hello.service', 'unit.start unit/hello.service'],
  },
  {
    name: 'a unit file edited by hand is rewritten and its running unit restarted',
    desired: desired([hello]),
    live: live({ units: [liveUnit('hello.service', 'edited')] }),
    inventory: inventory([applied(hello)]),
    steps: ['unit.write unit/hello.service', 'unit.daemon-reload', 'unit.restart unit/hello.service'],
    causes: ['drift', 'drift', 'drift'],
  },
  {
    name: 'two changed units share one daemon-reload',
    desired: desired([hello, unit('b.service')]),
    live: live(),
    inventory: inventory(),
    steps: ['unit.write unit/hello.service', 'unit.write unit/b.service', 'unit.daemon-reload', 'unit.enable unit/hello.service', 'unit.enable unit/b.service', 'unit.start unit/hello.service', 'unit.start unit/b.service'],
  },
  {
    name: 'a unit whose file changed on disk but not in systemd is reloaded and restarted',
    desired: desired([hello]),
    live: live({ units: [liveUnit('hello.service', renderUnitFile(hello), { needDaemonReload: true })] }),
    inventory: inventory([applied(hello)]),
    steps: ['unit.daemon-reload', 'unit.restart unit/hello.service'],
  },
  {
    name: 'a template unit is written but neither enabled nor started',
    desired: desired([unit('app@.service')]),
    live: live({ units: [liveUnit('app@.service', null, { unitFileState: 'not-found', activeState: 'inactive' })] }),
    inventory: inventory(),
    steps: ['unit.write unit/app@.service', 'unit.daemon-reload'],
  },
  {
    name: 'a failed unit is reset and started',
    desired: desired([hello]),
    live: live({ units: [liveUnit('hello.service', renderUnitFile(hello), { activeState: 'failed', result: 'exit-code' })] }),
    inventory: inventory([applied(hello)]),
    steps: ['unit.reset-failed unit/hello.service', 'unit.start unit/hello.service'],
  },
  {
    name: 'a masked and disabled unit is unmasked and enabled',
    desired: desired([hello]),
    live: live({ units: [liveUnit('hello.service', renderUnitFile(hello), { unitFileState: 'masked' })] }),
    inventory: inventory([applied(hello)]),
    steps: ['unit.unmask unit/hello.service', 'unit.enable unit/hello.service'],
  },
  {
    name: 'a pruned unit that runs is stopped and disabled first',
    desired: desired([]),
    live: live({ units: [liveUnit('old.service', `${unitMarker('unit/old.service')}x`)] }),
    inventory: inventory([{ id: 'unit/old.service', hash: 'x' }]),
    steps: ['unit.disable unit/old.service', 'unit.stop unit/old.service'],
  },
  {
    name: 'a pruned unit that is stopped and disabled is deleted, then reloaded',
    desired: desired([]),
    live: live({ units: [liveUnit('old.service', `${unitMarker('unit/old.service')}x`, { activeState: 'inactive', unitFileState: 'disabled' })] }),
    inventory: inventory([{ id: 'unit/old.service', hash: 'x' }]),
    steps: ['unit.delete unit/old.service', 'unit.daemon-reload'],
  },
  {
    name: 'a changed file restarts the running unit it notifies, once',
    desired: desired([conf, hello]),
    live: live({ files: [liveFile('/etc/app/app.conf', 'port = 0\n', { mode: '0640' })], units: [liveUnit('hello.service', renderUnitFile(hello))] }),
    inventory: inventory([applied(conf), applied(hello)]),
    steps: ['file.write file//etc/app/app.conf', 'unit.restart unit/hello.service'],
  },
  {
    name: 'a chmod by hand is fixed without rewriting the content',
    desired: desired([conf]),
    live: live({ files: [liveFile('/etc/app/app.conf', 'port = 1\n', { mode: '0777' })] }),
    inventory: inventory([applied(conf)]),
    steps: ['file.attributes file//etc/app/app.conf'],
    causes: ['drift'],
  },
  {
    name: 'files, then units, then containers',
    desired: desired([web, hello, file('/srv/a')]),
    live: live(),
    inventory: inventory(),
    steps: ['file.write file//srv/a', 'unit.write unit/hello.service', 'unit.daemon-reload', 'unit.enable unit/hello.service', 'unit.start unit/hello.service', 'container.pull container/web', 'container.create container/web'],
  },
  {
    name: 'a resource waits until what it depends on is in sync and healthy',
    desired: desired([container('web', {}, 'correct', ['unit/hello.service']), hello]),
    live: live(),
    inventory: inventory(),
    steps: ['unit.write unit/hello.service', 'unit.daemon-reload', 'unit.enable unit/hello.service', 'unit.start unit/hello.service'],
    sync: { 'container/web': 'Pending' },
  },
];

for (const row of rows) {
  test(`planner: ${row.name}`, () => {
    const frozen = structuredClone({ desired: row.desired, inventory: row.inventory });
    const result = plan(row.desired, row.live, row.inventory, ctx);
    assert.deepEqual(
      result.steps.map((s) => `${s.type}${s.resource ? ` ${s.resource}` : ''}`),
      row.steps,
    );
    if (row.causes) assert.deepEqual(result.steps.map((s) => s.cause), row.causes);
    for (const [id, sync] of Object.entries(row.sync ?? {})) {
      assert.equal(result.statuses.find((s) => s.id === id)?.sync, sync, `sync of ${id}`);
    }
    assert.deepEqual({ desired: row.desired, inventory: row.inventory }, frozen, 'the planner must not mutate its inputs');
  });
}

test('planner: a manual sync corrects drift under report but not under ignore', () => {
  const reported = container('web', { command: ['sleep', '3600'] }, 'report');
  const ignored = container('api', { command: ['sleep', '3600'] }, 'ignore');
  const result = plan(
    desired([reported, ignored]),
    live({ containers: [liveContainer('web', ours(reported), { state: 'exited' }), liveContainer('api', ours(ignored), { state: 'exited' })] }),
    inventory([applied(reported), applied(ignored)]),
    { ...ctx, correctReportedDrift: true },
  );
  assert.deepEqual(result.steps.map((s) => `${s.type} ${s.resource}`), ['container.start container/web']);
});

test('planner: a flapping resource is not restarted while suppressed', () => {
  const suppressed = new Map([['container/web' as const, 'flapping']]);
  const result = plan(desired([web]), live({ containers: [liveContainer('web', ours(), { state: 'exited' })] }), inventory([applied(web)]), { ...ctx, suppressed });
  assert.deepEqual(result.steps, []);
  assert.equal(result.statuses[0]?.message, 'flapping');
});

test('planner: the config hash ignores key order and non-shaping keys', () => {
  assert.equal(containerHash({ image: 'a', env: { A: '1', B: '2' } }), containerHash({ env: { B: '2', A: '1' }, image: 'a', pull: 'always', state: 'stopped', drift: 'report' }));
  assert.notEqual(containerHash({ image: 'a', env: { A: '1' } }), containerHash({ image: 'a', env: { A: '2' } }));
});

test('planner: an inventoried resource gone from the host and from Git is forgotten', () => {
  const result = plan(desired([]), live(), inventory([{ id: 'file//srv/gone', hash: 'x' }]), ctx);
  assert.deepEqual(result.forgotten, ['file//srv/gone']);
});
