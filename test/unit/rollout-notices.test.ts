// The rollout notices replicas send each other through NOTIFY: parsed back as
// sent, and anything malformed or over its bounds ignored (null), never thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAction } from '../../hub/cluster/notices.ts';

test('rollout notices round-trip and malformed ones are ignored', () => {
  const good = [
    { k: 'rollouts', from: 'r1', revision: 'a'.repeat(40), v: 3 },
    { k: 'rollouts', from: 'r1', revision: null, v: 0 },
    { k: 'rollouts?', from: 'r2' },
    { k: 'rollout-act', from: 'r2', req: 'q1', id: 'aaaaaaaaaaaa', action: 'pause', by: 'admin' },
    { k: 'rollout-acted', to: 'r2', req: 'q1', ok: false, status: 409, why: 'already paused' },
  ];
  for (const n of good) assert.deepEqual(parseAction(JSON.stringify(n)), n);
  const bad = [
    { k: 'rollouts', from: 'r1', revision: 'a', v: 1.5 },
    { k: 'rollouts', from: 'x'.repeat(65), revision: null, v: 1 },
    { k: 'rollout-act', from: 'r2', req: 'q1', id: 'x', action: 'delete', by: 'admin' },
    { k: 'rollout-act', from: 'r2', req: 'q1', id: 'x'.repeat(301), action: 'pause', by: 'admin' },
    { k: 'rollout-acted', to: 'r2', req: 'q1', ok: false, status: 500, why: '' },
    { k: 'rollout-acted', to: 'r2', req: 'q1', ok: 'yes', status: 409, why: '' },
    { k: 'nothing' },
  ];
  for (const n of bad) assert.equal(parseAction(JSON.stringify(n)), null, JSON.stringify(n));
  assert.equal(parseAction('{"k":"rollouts?"'), null);
});
