// Diffs never carry content: a file's content by size and hash only, a secret
// file's or secret container's change only as "changed" (docs/secrets.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plan } from '../../agent/engine/planner.ts';
import { ownershipLabels } from '../../agent/engine/plan-containers.ts';
import { specHash } from '../../agent/engine/resource-plan.ts';
import { MASK } from '../../shared/secrets/mask.ts';
import type { DesiredResource } from '../../shared/resources.ts';
import { container, ctx, desired, file, inventory, live, liveContainer, liveFile } from '../helpers/desired.ts';

const applied = (r: DesiredResource) => ({ id: r.id, hash: specHash(r) });
const diffOf = (r: DesiredResource, l: ReturnType<typeof live>) => plan(desired([r]), l, inventory([applied(r)]), ctx).statuses.find((s) => s.id === r.id)!.diff;

test('a drifted file shows sizes and hashes, never the live or desired content', () => {
  const f = file('/etc/app/app.conf', { content: 'port = 1\n' }, 'report');
  const diff = diffOf(f, live({ files: [liveFile('/etc/app/app.conf', 'password = hunter2hunter2\n')] }));
  const content = diff.find((d) => d.field === 'content')!;
  assert.match(String(content.desired), /^sha256:[0-9a-f]{12}… \(9 bytes\)$/);
  assert.match(String(content.live), /^sha256:[0-9a-f]{12}… \(26 bytes\)$/);
  assert.ok(!JSON.stringify(diff).includes('hunter2') && !JSON.stringify(diff).includes('port = 1'));
});

test('a secret file and a secret container show only "changed"', () => {
  const f = { ...file('/etc/app/secret.env', { content: 'TOKEN=abc\n' }, 'report'), secret: true as const };
  assert.deepEqual(diffOf(f, live({ files: [liveFile('/etc/app/secret.env', 'TOKEN=old\n')] })).find((d) => d.field === 'content'), { field: 'content', desired: MASK, live: 'changed' });
  const before = container('db', { env: { PASSWORD: 'old-password' } }, 'report');
  const c = { ...container('db', { env: { PASSWORD: 'new-password' } }, 'report'), secret: true as const };
  const diff = diffOf(c, live({ containers: [liveContainer('db', ownershipLabels(before, 'r0'))] }));
  assert.deepEqual(diff.find((d) => d.field === 'config-hash'), { field: 'config-hash', desired: MASK, live: 'changed' });
  const plain = diffOf({ ...c, secret: undefined } as DesiredResource, live({ containers: [liveContainer('db', ownershipLabels(before, 'r0'))] }));
  assert.match(String(plain.find((d) => d.field === 'config-hash')?.desired), /^[0-9a-f]{16,}$/);
});
