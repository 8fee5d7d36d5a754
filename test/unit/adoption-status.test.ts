// What adoption says about a resource travels with its status to the hub
// (shared/status.ts): the agent uses the closed set AdoptionState; the wire
// takes any short string, so a hub keeps showing a newer agent's states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdoptionState, HostStatus } from '../../shared/status.ts';

const status = (adoption: unknown) => ({
  host: 'web-01', place: 'web-01', tags: [], conditions: [], lastAppliedRevision: null, lastAttemptedRevision: null,
  resources: [{ id: 'container/web', sync: 'InSync', health: 'Healthy', diff: [], adoption }], attempts: [], updatedAt: '2026-01-01T00:00:00Z',
});

test('the adoption states are a closed set the agent uses', () => {
  assert.deepEqual(AdoptionState.options, ['Adopted', 'Replace', 'Rewrite']);
});

test('a status keeps the adoption of a resource on the wire; a newer state passes, an oversized one does not', () => {
  assert.equal(HostStatus.parse(status('Adopted')).resources[0]?.adoption, 'Adopted');
  assert.equal(HostStatus.parse(status('SomethingNewer')).resources[0]?.adoption, 'SomethingNewer');
  assert.equal(HostStatus.safeParse(status('x'.repeat(33))).success, false);
  assert.equal(HostStatus.safeParse(status(7)).success, false);
  assert.equal(HostStatus.parse(status(undefined)).resources[0]?.adoption, undefined);
});
