// A policy refusal at the hub, like any refusal: the real agent daemon (the
// bundle, its own process) under a host policy file, reporting to a real hub.
// A commit that breaks the policy shows at the hub as a refused attempt with
// the POLICY_VIOLATION reason, an event naming the resource, its file:line and
// the rule, and a stalled host; an edit of the host policy file — no restart —
// lets the same head apply at the next poll.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { requireComponent } from '../harness/require.ts';
import { WorkRepo, freePort, missingGitServer, tempDir } from '../harness/git-servers.ts';
import { AgentProcess, HubProcess, bundleMissing, waitFor } from '../harness/faults.ts';

const run = process.pid.toString(36);
const host = `gfpolhub-${run}`;
const work = tempDir('policy-hub');
const filesDir = join(work, 'files');
const policyFile = join(work, 'policy.yaml');
let hub: HubProcess | null = null;
let agent: AgentProcess | null = null;
let repo: WorkRepo | null = null;

after(async () => {
  await agent?.stop();
  await hub?.stop();
  repo?.dispose();
  rmSync(work, { recursive: true, force: true });
});

function commit(files: Record<string, { content: string }>, message: string): string {
  const id = repo!.commit({ [`${host}/host.yaml`]: '', [`${host}/files.yaml`]: stringify({ files }) }, message);
  repo!.push();
  return id;
}

test('a policy refusal reaches the hub like any refusal; a host policy edit applies the head without a restart', { timeout: 120_000 }, async (t) => {
  if (!requireComponent(t, 'git', missingGitServer('daemon'))) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  mkdirSync(filesDir);
  writeFileSync(policyFile, `files:\n  deny: ["${filesDir}/locked*"]\n`);
  repo = new WorkRepo(join(work, 'fleet.git'));
  const v1 = commit({ [join(filesDir, 'app.conf')]: { content: 'v1\n' } }, 'v1');
  hub = new HubProcess({ dataDir: join(work, 'hub'), port: await freePort(), heartbeat: '5s' });
  await hub.start();
  agent = new AgentProcess({ repo: repo.bare, host, stateDir: join(work, 'state'), hub, interval: '1s', env: { GITFLEET_FILES_ALLOW: filesDir, GITFLEET_POLICY: policyFile, GITFLEET_DOCKER_SOCKET: join(work, 'no-docker.sock') } });
  agent.start();
  await hub.convergedAt(host, v1, 60_000);

  const v2 = commit({ [join(filesDir, 'app.conf')]: { content: 'v2\n' }, [join(filesDir, 'locked.key')]: { content: 'k\n' } }, 'v2 breaks the policy');
  const refused = await waitFor('the refusal at the hub', 60_000, async () => {
    const d = await hub!.host(host);
    const attempt = d.attempts.find((a) => a.revision === v2);
    return d.summary.stalled && attempt?.result === 'Refused' ? { d, attempt } : undefined;
  });
  assert.equal(refused.attempt.reason, 'POLICY_VIOLATION');
  assert.equal(refused.d.summary.lastAppliedRevision, v1, 'the host stays on its last good revision');
  const event = (await hub.events(host)).find((e) => e.reason === 'POLICY_VIOLATION');
  assert.ok(event, 'a POLICY_VIOLATION event at the hub');
  assert.match(event.message, new RegExp(`file/${filesDir.replace(/[.]/g, '\\.')}/locked\\.key \\(${host}/files\\.yaml:\\d+\\) breaks files\\.denied-path`));
  assert.equal(readFileSync(join(filesDir, 'app.conf'), 'utf8'), 'v1\n', 'nothing of the refused revision was applied');

  // The administrator lifts the rule; the running daemon picks it up at its next poll.
  writeFileSync(policyFile, 'files:\n  maxSize: 1m\n');
  await hub.convergedAt(host, v2, 60_000);
  assert.equal(readFileSync(join(filesDir, 'app.conf'), 'utf8'), 'v2\n');
  assert.equal(agent.exited, null, 'the agent was not restarted');
});
