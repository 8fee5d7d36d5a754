// Webhooks against a real hub process, a real Git repo and a real agent-side
// client: a delivery acts once (a replay of each provider's format is refused
// with 409 and notifies nobody), GitHub's default form encoding and its ping
// work, a GitLab tag push does not move a branch-following fleet, and a stale
// generic timestamp is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ENROLL, WEBHOOK_SECRET, api, removeDir, startAgent, startHubProcess, tempDir, waitFor } from '../integration/hub-harness.ts';
import type { AgentProcess, HubProcess } from '../integration/hub-harness.ts';
import { requireComponent } from '../harness/require.ts';
import { genericWebhookHeaders } from '../../hub/webhook/verify-webhook.ts';

const gitMissing = spawnSync('git', ['--version']).status === 0 ? null : 'the git command is not installed';
const dirs: string[] = [];
const repo = tempDir('replay-repo');
dirs.push(repo);
let hub: HubProcess;
let agent: AgentProcess;

function git(...args: string[]): string {
  const id = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' };
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', env: { ...process.env, ...id } }).trim();
}

let commits = 0;
/** A new commit that changes web-01's layers, so acting on it notifies web-01. */
function commitChange(): string {
  const path = join(repo, 'prod/web-01/app.yaml');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `files:\n  /etc/motd:\n    content: "change ${++commits}\\n"\n`);
  git('add', '-A');
  git('commit', '-q', '-m', `change ${commits}`);
  return git('rev-parse', 'HEAD');
}

before(async () => {
  if (gitMissing) return;
  git('init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), 'fleet\n');
  commitChange();
  const dataDir = tempDir('replay-hub');
  dirs.push(dataDir);
  hub = await startHubProcess({ dataDir, env: { GITFLEET_HUB_REPO: repo, GITFLEET_HUB_REF: 'main', GITFLEET_HUB_POLL_INTERVAL: '1h' } });
  await waitFor('the hub to read the head', async () => (await api<{ head: string | null }>(hub.url, '/healthz', { token: null })).body.head);
  const stateDir = tempDir('replay-agent');
  dirs.push(stateDir);
  agent = await startAgent({ hubUrl: hub.agentUrl, host: 'web-01', stateDir, token: ENROLL, place: 'prod/web-01' });
  await waitFor('the agent to connect', () => agent.connected());
});

after(async () => {
  await agent?.stop();
  await hub?.stop();
  dirs.forEach(removeDir);
});

const sign = (data: string) => createHmac('sha256', WEBHOOK_SECRET).update(data).digest('hex');

interface Delivery {
  body: string;
  headers: Record<string, string>;
}

/** Sends a delivery; returns the answer and how many reconcile-now web-01 got from it (`acts`: one is expected). */
async function deliver(d: Delivery, acts = false): Promise<{ status: number; body: Record<string, unknown>; notified: number }> {
  const before = agent.reconciles().length;
  const res = await api<Record<string, unknown>>(hub.url, '/api/v1/hooks/git', { token: null, method: 'POST', body: d.body, headers: { 'content-type': 'application/json', ...d.headers } });
  // The one expected travels hub → agent → the agent's log → this process: on a loaded machine that can take
  // far longer than the few ms it usually does, so wait for it.
  if (acts) await waitFor(`web-01 to get a reconcile-now (the delivery answered ${res.status} ${JSON.stringify(res.body)})`, () => agent.reconciles().length > before, 15_000);
  // Then 400 ms more: ample to see one that should not come (or a second one).
  await new Promise((r) => setTimeout(r, 400));
  return { status: res.status, body: res.body, notified: agent.reconciles().length - before };
}

const pushBody = (revision: string, ref = 'refs/heads/main') => JSON.stringify({ ref, after: revision });
const providers: Record<string, (body: string) => Record<string, string>> = {
  github: (body) => ({ 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': `sha256=${sign(body)}` }),
  gitea: (body) => ({ 'x-gitea-event': 'push', 'x-gitea-delivery': String(Date.now()), 'x-gitea-signature': sign(body) }),
  gitlab: () => ({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': WEBHOOK_SECRET }),
  generic: (body) => genericWebhookHeaders(WEBHOOK_SECRET, body),
};

for (const [name, headersFor] of Object.entries(providers)) {
  test(`${name}: a delivery acts once; the same delivery again is refused with 409 and notifies nobody`, async (t) => {
    if (!requireComponent(t, 'git', gitMissing)) return;
    const body = pushBody(commitChange());
    const first: Delivery = { body, headers: headersFor(body) };
    const acted = await deliver(first, true);
    assert.equal(acted.status, 200, JSON.stringify(acted.body));
    assert.equal(acted.notified, 1);
    const replay = await deliver(first);
    assert.equal(replay.status, 409, JSON.stringify(replay.body));
    assert.deepEqual(Object.keys(replay.body), ['error']);
    assert.equal((replay.body.error as { code: string }).code, 'WEBHOOK_REPLAYED');
    assert.equal(replay.notified, 0);
  });
}

test('github and gitea: the same signed body under a fresh delivery id is a replay too (the id is not signed)', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  for (const name of ['github', 'gitea'] as const) {
    const body = pushBody(commitChange());
    // Waits for its reconcile-now too: one arriving late would be counted against the replay below.
    assert.equal((await deliver({ body, headers: providers[name]!(body) }, true)).status, 200);
    const again = await deliver({ body, headers: { ...providers[name]!(body), [`x-${name}-delivery`]: `fresh-${randomUUID()}` } });
    assert.equal(again.status, 409, name);
    assert.equal(again.notified, 0);
  }
});

test('GitHub defaults: a form-encoded push (payload=…) is accepted and acted on; ping answers 200', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const revision = commitChange();
  const form = `payload=${encodeURIComponent(pushBody(revision))}`;
  const res = await deliver(
    {
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': `sha256=${sign(form)}` },
    },
    true,
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.revision, revision);
  assert.equal(res.notified, 1);
  const pingForm = `payload=${encodeURIComponent(JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 }))}`;
  const ping = await deliver({
    body: pingForm,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-github-event': 'ping', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': `sha256=${sign(pingForm)}` },
  });
  assert.equal(ping.status, 200);
  assert.deepEqual(ping.body, { pong: true });
  assert.equal(ping.notified, 0);
});

test('a GitLab tag push is ignored by a fleet following the branch main', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const revision = commitChange();
  git('tag', 'v1');
  const body = JSON.stringify({ object_kind: 'tag_push', ref: 'refs/tags/v1', after: revision });
  const res = await deliver({ body, headers: { 'x-gitlab-event': 'Tag Push Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': WEBHOOK_SECRET } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.match(String(res.body.ignored), /refs\/tags\/v1, the fleet follows main/);
  assert.equal(res.notified, 0);
});

test('generic: a stale timestamp, one without a timestamp, and one signed without it are refused with 401', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const body = pushBody(commitChange());
  const stale = await deliver({ body, headers: genericWebhookHeaders(WEBHOOK_SECRET, body, Date.now() - 6 * 60_000) });
  assert.equal(stale.status, 401);
  assert.match(String((stale.body.error as { message: string }).message), /X-Gitfleet-Timestamp is 36\d s from the hub's clock/);
  assert.equal(stale.notified, 0);
  const bare = await deliver({ body, headers: { 'x-gitfleet-signature': `sha256=${sign(body)}` } });
  assert.equal(bare.status, 401);
  const ts = String(Math.floor(Date.now() / 1000));
  const bodyOnly = await deliver({ body, headers: { 'x-gitfleet-timestamp': ts, 'x-gitfleet-signature': `sha256=${sign(body)}` } });
  assert.equal(bodyOnly.status, 401);
  assert.equal(bare.notified + bodyOnly.notified, 0);
});

test('a body over 2 MiB is refused with 413 before it is verified', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const body = JSON.stringify({ ref: 'refs/heads/main', pad: 'x'.repeat(2 * 1024 * 1024) });
  const res = await deliver({ body, headers: genericWebhookHeaders(WEBHOOK_SECRET, body) });
  assert.equal(res.status, 413);
  assert.equal(res.notified, 0);
  const health = await api<{ ok: boolean }>(hub.url, '/healthz', { token: null });
  assert.equal(health.body.ok, true);
});
