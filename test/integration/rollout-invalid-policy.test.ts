// A host held because the rollout.yaml above it is invalid at the head, as
// GET /api/v1/hosts/:id and `gitfleet status HOST` give it, against a real hub
// (in this process) with simulated agents: the host is told to stay where it
// is, and both say why (the file, what the host is kept at); a host outside
// that rollout.yaml's directory says nothing of it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gitfleet as runCli } from '../helpers/gitfleet-cli.ts';
import type { DeclaredHost } from '../../hub/git/fleet-repo-view.ts';
import { removeDir, tempDir, VIEWER, waitFor } from './hub-harness.ts';
import { api, readHead, startRolloutFleet } from './rollout-hub-fixture.ts';

const OLD = '6'.repeat(40);
const NEW = '7'.repeat(40);
const dirs: string[] = [];
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  for (const d of dirs) removeDir(d);
});

interface HostAnswer {
  rollout: unknown;
  rolloutPolicyInvalid: { file: string; released: string | null } | null;
}

test('a host below an invalid rollout.yaml: held where it is, and the API and `gitfleet status HOST` say so', async () => {
  const dataDir = tempDir('rollout-invalid-policy');
  dirs.push(dataDir);
  const ids = ['inv-0', 'inv-1'];
  const { repo, hub, fleet, close } = await startRolloutFleet({ dataDir, ids, initialRevision: OLD });
  closers.push(close);
  const before = await api<HostAnswer>(hub, 'GET', '/api/v1/hosts/inv-0', VIEWER);
  assert.equal(before.body.rolloutPolicyInvalid, null);

  // inv-0 lives under prod/eu, whose rollout.yaml is broken at the new head; inv-1 under prod/us.
  const hosts: DeclaredHost[] = [
    { id: 'inv-0', dir: 'prod/eu/inv-0', pathTags: ['prod', 'prod/eu'], crossTags: [] },
    { id: 'inv-1', dir: 'prod/us/inv-1', pathTags: ['prod', 'prod/us'], crossTags: [] },
  ];
  repo.head = { ...repo.head, revision: NEW, hosts, issues: ['prod/eu/rollout.yaml:2:3  INVALID_VALUE  waves: expected an array'], rollouts: { scopes: [], invalid: ['prod/eu'] } };
  await readHead(hub);

  await waitFor('inv-0 told to stay at what it runs', () => fleet.agents.get('inv-0')!.released?.rollout === 'invalid prod/eu/rollout.yaml');
  assert.deepEqual(fleet.agents.get('inv-0')!.released, { type: 'release', underPolicy: true, revision: OLD, rollout: 'invalid prod/eu/rollout.yaml' });
  assert.equal(fleet.agents.get('inv-0')!.applied, OLD);

  const held = await api<HostAnswer>(hub, 'GET', '/api/v1/hosts/inv-0', VIEWER);
  assert.equal(held.status, 200);
  assert.deepEqual(held.body.rolloutPolicyInvalid, { file: 'prod/eu/rollout.yaml', released: OLD });
  assert.equal(held.body.rollout, null, 'no rollout runs for it');
  const other = await api<HostAnswer>(hub, 'GET', '/api/v1/hosts/inv-1', VIEWER);
  assert.equal(other.body.rolloutPolicyInvalid, null, 'outside prod/eu: not held by that file');

  const gitfleet = (args: string[]) => runCli(args, { env: { GITFLEET_API_TOKEN: VIEWER, GITFLEET_CONFIG_DIR: join(dataDir, 'cli') } });
  const status = await gitfleet(['status', 'inv-0', '--hub', hub.url]);
  assert.match(status.stdout, new RegExp(`^held: prod/eu/rollout\\.yaml is invalid at the head; kept at ${OLD.slice(0, 12)} until it is fixed$`, 'm'), status.stdout + status.stderr);
  const otherStatus = await gitfleet(['status', 'inv-1', '--hub', hub.url]);
  assert.doesNotMatch(otherStatus.stdout, /is invalid at the head/);
});
