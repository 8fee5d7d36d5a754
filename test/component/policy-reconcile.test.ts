// The host policy in the reconciler, in one long-lived agent (the real
// composition root, a real Git repository, in-memory drivers): a policy
// refusal is a commit refusal — not retried by later polls — and an edit of
// the host policy file counts as a config change, so the next poll tries the
// refused head again without a restart, and re-admits the running revision (a
// narrowed policy that refuses it is reported, and the host keeps it). Nothing
// of a refused revision reaches the drivers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContainerDriver } from '../../agent/drivers/memory/containers.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { fleetFixture } from '../helpers/agent-fixture.ts';
import { missingGitServer } from '../harness/git-servers.ts';
import { requireComponent } from '../harness/require.ts';

const dir = mkdtempSync(join(tmpdir(), 'gf-policy-rec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a policy refusal stays refused across polls; a host policy edit is picked up by the next poll', async (t) => {
  if (!requireComponent(t, 'git', missingGitServer('daemon'))) return;
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, 'containers:\n  allowPrivileged: false\nfiles:\n  deny: [/srv/app/locked]\n');
  const files = new MemoryFileDriver({ allow: ['/srv'] });
  const drivers = { containers: new MemoryContainerDriver({ images: ['local/busybox:1'] }), units: new MemoryUnitDriver(), files };
  const fleet = await fleetFixture({ config: { policy: policyFile, files: { allow: ['/srv'] }, healthSettle: '0s' }, drivers });
  t.after(() => fleet.dispose());

  // One agent for the whole test: every run below is a poll of the same process.
  const agent = await fleet.agent();
  fleet.commit({ files: { '/srv/app/ok.conf': { content: 'one\n' } } }, 'compliant');
  assert.equal((await fleet.run('poll')).result, 'Succeeded');

  fleet.commit({ files: { '/srv/app/ok.conf': { content: 'two\n' }, '/srv/app/locked': { content: 'x\n' } }, containers: { web: { image: 'local/busybox:1', privileged: true } } }, 'hostile');
  const writesBefore = files.calls.length;
  const refused = await fleet.run('poll');
  assert.equal(refused.result, 'Refused');
  assert.equal(refused.reason, 'POLICY_VIOLATION');
  assert.match(refused.message ?? '', /container\/web \(h1\/apps\.yaml:\d+\) breaks containers\.privileged/);
  assert.match(refused.message ?? '', /file\/\/srv\/app\/locked \(h1\/apps\.yaml:\d+\) breaks files\.denied-path/);
  // The refusal is what the hub shows: the refused head, its reason, the Stalled condition.
  const status = agent.recorder.snapshot;
  assert.equal(status.refused?.reason, 'POLICY_VIOLATION');
  assert.equal(status.conditions.find((c) => c.type === 'Stalled')?.status, true);
  assert.equal(status.attempts[0]?.result, 'Refused');

  // Polls do not retry it (the same commit fails the same way): no new attempt, nothing written.
  const attempts = agent.recorder.snapshot.attempts.length;
  for (let i = 0; i < 3; i++) assert.equal((await fleet.run('poll')).result, 'Refused');
  assert.equal(agent.recorder.snapshot.attempts.length, attempts, 'a poll re-evaluated the refused head');
  assert.equal(files.calls.slice(writesBefore).filter((c) => !c.startsWith('observe')).length, 0, `a refused revision reached the file driver: ${files.calls.slice(writesBefore).join(', ')}`);
  assert.equal(await drivers.containers.list().then((l) => l.length), 0);

  // The administrator allows it (no restart): the next poll applies the same head.
  writeFileSync(policyFile, 'containers:\n  allowPrivileged: true\n');
  const applied = await fleet.run('poll');
  assert.equal(applied.result, 'Succeeded', applied.message);
  assert.equal(agent.recorder.snapshot.refused ?? null, null);
  assert.equal((await drivers.containers.list()).length, 1);

  // And narrows it again: the running revision is re-admitted, refused and reported, and kept (not torn down).
  writeFileSync(policyFile, 'containers:\n  allowPrivileged: false\n');
  const running = await fleet.run('poll');
  assert.equal(running.result, 'Refused');
  assert.equal(running.reason, 'POLICY_VIOLATION');
  assert.equal(running.revision, applied.revision, 'the running revision stays the one the host enforces');
  assert.equal(agent.recorder.snapshot.conditions.find((c) => c.type === 'Stalled')?.status, true);
  assert.equal((await drivers.containers.list()).length, 1, 'what the running revision applied is kept');
  const reported = agent.recorder.snapshot.attempts.length;
  assert.equal((await fleet.run('poll')).result, 'Refused');
  assert.equal(agent.recorder.snapshot.attempts.length, reported, 'said once, not on every poll');
  // Allowed again: the same revision is admitted, the refusal clears.
  writeFileSync(policyFile, 'containers:\n  allowPrivileged: true\n');
  const cleared = await fleet.run('poll');
  assert.equal(cleared.converged, true, cleared.message);
  assert.equal(agent.recorder.snapshot.refused ?? null, null);
  assert.equal(agent.recorder.snapshot.conditions.find((c) => c.type === 'Stalled')?.status, false);
  // A new head under a narrowed policy is refused before anything is applied.
  writeFileSync(policyFile, 'containers:\n  allowPrivileged: false\n');
  fleet.commit({ files: { '/srv/app/ok.conf': { content: 'three\n' } }, containers: { web: { image: 'local/busybox:1', privileged: true } } }, 'still privileged');
  const again = await fleet.run('poll');
  assert.equal(again.result, 'Refused');
  assert.match(again.message ?? '', /breaks containers\.privileged/);
});
