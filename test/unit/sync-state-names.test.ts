// Issue 21, item 4 (one way to name things): a difference that comes from Git
// is OutOfSync, one made on the host is Drifted — in the planner's statuses
// (which the CLI prints and the hub serves), the hub's roll-up and the web
// view's badges; an older hub (protocol < 3) gets OutOfSync as Drifted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownershipLabels } from '../../agent/engine/plan-containers.ts';
import { plan } from '../../agent/engine/planner.ts';
import { specHash } from '../../agent/engine/resource-plan.ts';
import { hostSync, hostSyncStates } from '../../hub/fleet/rollup.ts';
import { syncLabel } from '../../hub/web/src/components/badges.ts';
import { OUT_OF_SYNC_PROTOCOL, PROTOCOL_VERSION, statusForProtocol } from '../../shared/protocol.ts';
import { SyncState, type HostStatus } from '../../shared/status.ts';
import { container, ctx, desired, file, inventory, live, liveContainer, liveFile } from '../helpers/desired.ts';

test('the planner: a spec changed in Git is OutOfSync, a resource changed on the host is Drifted', () => {
  const applied = container('web', { image: 'img:1' });
  const inv = inventory([{ id: applied.id, hash: specHash(applied) }]);
  const gitChange = plan(desired([container('web', { image: 'img:2' })]), live({ containers: [liveContainer('web', ownershipLabels(applied, 'r0'))] }), inv, ctx);
  assert.equal(gitChange.statuses[0]!.sync, 'OutOfSync');
  assert.ok(gitChange.steps.every((s) => s.cause === 'intended'));
  const hostChange = plan(desired([applied]), live({ containers: [liveContainer('web', ownershipLabels(applied, 'r0'), { state: 'exited' })] }), inv, ctx);
  assert.equal(hostChange.statuses[0]!.sync, 'Drifted');
  assert.ok(hostChange.steps.every((s) => s.cause === 'drift'));

  const conf = file('/etc/app.conf', { content: 'v1\n' });
  const fileInv = inventory([{ id: conf.id, hash: specHash(conf) }]);
  assert.equal(plan(desired([file('/etc/app.conf', { content: 'v2\n' })]), live({ files: [liveFile('/etc/app.conf', 'v1\n')] }), fileInv, ctx).statuses[0]!.sync, 'OutOfSync');
  assert.equal(plan(desired([conf]), live({ files: [liveFile('/etc/app.conf', 'by hand\n')] }), fileInv, ctx).statuses[0]!.sync, 'Drifted');
});

test('the closed set: OutOfSync is a sync state of the wire, the roll-up and the web view', () => {
  assert.ok(SyncState.options.includes('OutOfSync'));
  assert.ok(hostSyncStates.includes('OutOfSync'));
  assert.equal(syncLabel('OutOfSync'), 'out of sync');
  const status = (sync: 'OutOfSync' | 'Drifted' | 'InSync'): HostStatus => ({
    host: 'h', place: '', tags: [], conditions: [], lastAppliedRevision: null, lastAttemptedRevision: null, attempts: [], updatedAt: '',
    resources: [{ id: 'file/a', sync, health: 'Healthy', diff: [] }],
  });
  assert.equal(hostSync(status('OutOfSync')), 'OutOfSync');
  // A host-made change is the worse news.
  const both = { ...status('OutOfSync'), resources: [...status('OutOfSync').resources, { id: 'file/b', sync: 'Drifted' as const, health: 'Healthy' as const, diff: [] }] };
  assert.equal(hostSync(both), 'Drifted');
});

test('an older hub (protocol < 3) gets OutOfSync as Drifted; a hub speaking 3 gets it as is', () => {
  assert.ok(PROTOCOL_VERSION >= OUT_OF_SYNC_PROTOCOL);
  const s: HostStatus = {
    host: 'h', place: '', tags: [], conditions: [], lastAppliedRevision: null, lastAttemptedRevision: null, attempts: [], updatedAt: '',
    resources: [{ id: 'file/a', sync: 'OutOfSync', health: 'Healthy', diff: [] }, { id: 'file/b', sync: 'InSync', health: 'Healthy', diff: [] }],
  };
  assert.deepEqual(statusForProtocol(s, 2).resources.map((r) => r.sync), ['Drifted', 'InSync']);
  assert.equal(statusForProtocol(s, 3), s);
});
