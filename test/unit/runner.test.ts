import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSteps } from '../../agent/engine/runner.ts';
import type { Step } from '../../agent/engine/steps.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import type { Drivers } from '../../agent/drivers/types.ts';

const unitText = '[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n';

function drivers(): { d: Drivers; batches: string[][] } {
  const units = new MemoryUnitDriver();
  const batches: string[][] = [];
  const enable = units.enable.bind(units);
  const start = units.start.bind(units);
  units.enable = async (names) => {
    batches.push(['enable', ...(Array.isArray(names) ? names : [names])]);
    await enable(names);
  };
  units.start = async (names) => {
    batches.push(['start', ...(Array.isArray(names) ? names : [names])]);
    await start(names);
  };
  return { d: { units, containers: new MemoryContainerDriver(), files: new MemoryFileDriver({ allow: ['/srv'] }) }, batches };
}

const step = (type: Step['type'], name: string): Step => ({ type, args: type === 'unit.write' ? { name, content: unitText, dropins: {} } : { name }, resource: `unit/${name}`, cause: 'intended', reason: 'test' }) as Step;

test('runner: a pass’s enables and starts go to systemctl as one batch each', async () => {
  const { d, batches } = drivers();
  const names = ['a.service', 'b.service', 'c.service'];
  const steps: Step[] = [...names.map((n) => step('unit.write', n)), { type: 'unit.daemon-reload', args: {}, resource: null, cause: 'intended', reason: 'x' }, ...names.map((n) => step('unit.enable', n)), ...names.map((n) => step('unit.start', n))];
  const results = await runSteps(steps, d);
  assert.ok(results.every((r) => r.ok));
  assert.deepEqual(batches, [['enable', ...names], ['start', ...names]]);
  const live = await d.units.observe(names);
  assert.ok(live.every((u) => u.activeState === 'active' && u.unitFileState === 'enabled'));
});

test('runner: one bad unit in a batch fails alone; the others still apply', async () => {
  const { d } = drivers();
  const steps: Step[] = [step('unit.write', 'a.service'), { type: 'unit.daemon-reload', args: {}, resource: null, cause: 'intended', reason: 'x' }, step('unit.enable', 'a.service'), step('unit.enable', 'missing.service')];
  const results = await runSteps(steps, d);
  const byName = new Map(results.map((r) => [`${r.step.type} ${r.step.resource}`, r]));
  assert.equal(byName.get('unit.enable unit/a.service')?.ok, true);
  assert.equal(byName.get('unit.enable unit/missing.service')?.ok, false);
  assert.equal(byName.get('unit.enable unit/missing.service')?.error?.code, 'SYSTEMD_FAILED');
});
