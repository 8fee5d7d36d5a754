// Issue 21, item 1: a container change in the plan and the status says which
// fields change (image a → b, env FOO added, a port changed), from the record
// of the applied spec the inventory keeps; a value holding a secret shows only
// «secret» / "changed", and the record never holds it in clear.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffContainerFields, recordContainerFields } from '../../agent/engine/container-fields.ts';
import { ownershipLabels } from '../../agent/engine/plan-containers.ts';
import { plan } from '../../agent/engine/planner.ts';
import { specHash } from '../../agent/engine/resource-plan.ts';
import { MASK, SecretValues } from '../../shared/secrets/mask.ts';
import type { ContainerResource } from '../../shared/resources.ts';
import { container, ctx, desired, inventory, live, liveContainer } from '../helpers/desired.ts';

const clear = () => false;

test('image, env added/removed/changed and ports are named field by field; equal fields are not', () => {
  const before = recordContainerFields('container/web', { image: 'nginx:1.25', env: { A: '1', GONE: 'x' }, ports: ['8080:80'], restart: 'always' }, clear);
  const after = recordContainerFields('container/web', { image: 'nginx:1.27', env: { A: '2', FOO: 'bar' }, ports: ['9090:80'], restart: 'always' }, clear);
  assert.deepEqual(diffContainerFields(before, after), [
    { field: 'env.A', desired: '2', live: '1' },
    { field: 'env.FOO', desired: 'bar', live: null },
    { field: 'env.GONE', desired: null, live: 'x' },
    { field: 'image', desired: 'nginx:1.27', live: 'nginx:1.25' },
    { field: 'ports', desired: '["9090:80"]', live: '["8080:80"]' },
  ]);
});

test('keys that never recreate a container (pull, state, drift) are not fields', () => {
  const a = recordContainerFields('container/web', { image: 'x', pull: 'always', state: 'running' }, clear);
  assert.deepEqual(Object.keys(a.values), ['image']);
});

test('a secret value is recorded as a digest and shown as «secret» / "changed", never in clear', () => {
  const secrets = new SecretValues();
  secrets.add(['old-password-1', 'new-password-2']);
  const taints = (t: string) => secrets.taints(t);
  const before = recordContainerFields('container/db', { image: 'pg', env: { PASSWORD: 'old-password-1', MODE: 'a' } }, taints);
  const after = recordContainerFields('container/db', { image: 'pg', env: { PASSWORD: 'new-password-2', MODE: 'b', TOKEN: 'new-password-2' } }, taints);
  assert.ok(!JSON.stringify(before).includes('old-password-1'), 'the record holds no secret');
  const diff = diffContainerFields(before, after);
  assert.deepEqual(diff, [
    { field: 'env.MODE', desired: 'b', live: 'a' },
    { field: 'env.PASSWORD', desired: MASK, live: 'changed' },
    { field: 'env.TOKEN', desired: MASK, live: null },
  ]);
  assert.ok(!JSON.stringify(diff).includes('password-'));
});

test('a long value is cut, and a change past the cut is still a change', () => {
  const long = 'x'.repeat(300);
  const a = recordContainerFields('container/c', { image: 'i', command: ['sh', '-c', `${long}a`] }, clear);
  const b = recordContainerFields('container/c', { image: 'i', command: ['sh', '-c', `${long}b`] }, clear);
  const [d] = diffContainerFields(a, b);
  assert.equal(d?.field, 'command');
  assert.ok(String(d?.desired).length < 260 && String(d?.desired) !== String(d?.live));
});

test('the planner shows field diffs when the inventory recorded the live container\'s spec, the config hash otherwise', () => {
  const old = container('web', { image: 'img:1', env: { A: '1' } });
  const now = container('web', { image: 'img:2', env: { A: '1', FOO: 'bar' } });
  const inv = inventory([{ id: old.id, hash: specHash(old) }]);
  const observed = live({ containers: [liveContainer('web', ownershipLabels(old, 'r0'), { image: 'img:1' })] });
  const withoutRecord = plan(desired([now]), observed, inv, ctx).statuses[0]!.diff.map((d) => d.field);
  assert.deepEqual(withoutRecord, ['image', 'config-hash']);
  inv.resources[old.id]!.fields = recordContainerFields(old.id, (old as ContainerResource).spec, clear);
  const result = plan(desired([now]), observed, inv, ctx);
  assert.deepEqual(result.statuses[0]!.diff, [
    { field: 'env.FOO', desired: 'bar', live: null },
    { field: 'image', desired: 'img:2', live: 'img:1' },
  ]);
  assert.match(result.steps.find((s) => s.type === 'container.create')!.reason, /spec changed: env\.FOO, image/);
});
