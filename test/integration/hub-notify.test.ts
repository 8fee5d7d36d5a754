// Notifications and commit status write-back from a real hub process (the
// `gitfleet hub` command with a config file) that reads a real Git repo and
// hears simulated agents over its real WebSocket endpoint: for each forge, a
// local server implementing that forge's documented commit-status API (path,
// auth header, JSON fields, 201 with the documented response) sees pending
// while hosts apply, success when all three have, failure naming the host that
// failed on the next head; on GitHub the first post gets a 502 and is retried.
// The same hub sends signed webhook notifications: the head applied
// fleet-wide, a host failing, its recovery, a host going offline.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENROLL, VIEWER, api, removeDir, startHubProcess, tempDir, waitFor } from './hub-harness.ts';
import type { HubProcess } from './hub-harness.ts';
import { connectSimAgent, simStatus } from './sim-agent.ts';
import type { SimAgent } from './sim-agent.ts';
import { startReceiver } from '../harness/http-receiver.ts';
import type { Answer, ReceivedRequest, Receiver } from '../harness/http-receiver.ts';
import { requireComponent } from '../harness/require.ts';
import { localGitRepo } from '../harness/local-git-repo.ts';
import { prometheusMissing, promtoolCheck } from '../harness/prometheus.ts';
import type { NotifyMessage } from '../../hub/notify/message.ts';
import type { NotificationsView } from '../../hub/notify/notifications.ts';

const gitMissing = spawnSync('git', ['--version']).status === 0 ? null : 'the git command is not installed';
const TOKEN = 'forge-token-0123456789';
const HOOK_SECRET = 'hook-secret-0123456789abcdef';
const dirs: string[] = [];
const cleanups: Array<() => Promise<unknown> | unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  dirs.forEach(removeDir);
});

function fleetRepo() {
  const repo = tempDir('notify-repo');
  dirs.push(repo);
  const { git, commit } = localGitRepo(repo);
  git('init', '-q', '-b', 'main');
  return { repo, commit };
}

/** The documented request of each forge; anything else is answered as the forge would (401, 404, 422). */
const forgeApis = {
  github: {
    path: /^\/repos\/ops\/fleet\/statuses\/([0-9a-f]{40})$/,
    auth: (r: ReceivedRequest) => r.headers.authorization === `Bearer ${TOKEN}` && String(r.headers.accept).includes('application/vnd.github'),
    states: ['pending', 'success', 'failure', 'error'],
    contextKey: 'context',
    baseUrl: (url: string) => url,
    response: (sha: string, b: Record<string, string>) => ({ id: 1, node_id: 'SC_1', url: `https://api.github.com/repos/ops/fleet/statuses/${sha}`, state: b.state, description: b.description, target_url: b.target_url, context: b.context, created_at: new Date().toISOString(), updated_at: new Date().toISOString() }),
  },
  gitlab: {
    path: /^\/api\/v4\/projects\/ops%2Ffleet\/statuses\/([0-9a-f]{40})$/,
    auth: (r: ReceivedRequest) => r.headers['private-token'] === TOKEN,
    states: ['pending', 'running', 'success', 'failed', 'canceled'],
    contextKey: 'name',
    baseUrl: (url: string) => `${url}/api/v4`,
    response: (sha: string, b: Record<string, string>) => ({ id: 1, sha, ref: 'main', status: b.state, name: b.name, target_url: b.target_url, description: b.description, created_at: new Date().toISOString(), allow_failure: false }),
  },
  gitea: {
    path: /^\/api\/v1\/repos\/ops\/fleet\/statuses\/([0-9a-f]{40})$/,
    auth: (r: ReceivedRequest) => r.headers.authorization === `token ${TOKEN}`,
    states: ['pending', 'success', 'error', 'failure', 'warning'],
    contextKey: 'context',
    baseUrl: (url: string) => `${url}/api/v1`,
    response: (sha: string, b: Record<string, string>) => ({ id: 1, status: b.state, target_url: b.target_url, description: b.description, url: `/api/v1/repos/ops/fleet/statuses/${sha}`, context: b.context, created_at: new Date().toISOString() }),
  },
} as const;
type ForgeName = keyof typeof forgeApis;

interface Posted {
  sha: string;
  state: string;
  description: string;
  target_url: string;
  context: string;
}

async function forgeServer(forge: ForgeName, failFirst: boolean): Promise<{ receiver: Receiver; posted: Posted[]; refused: string[] }> {
  const spec = forgeApis[forge];
  const posted: Posted[] = [];
  const refused: string[] = [];
  const lastState = new Map<string, string>();
  const receiver = await startReceiver((r, i): Answer => {
    const m = spec.path.exec(r.path);
    if (r.method !== 'POST' || !m) return refuse(404, `no route ${r.method} ${r.path}`);
    if (!spec.auth(r)) return refuse(401, 'bad credentials');
    if (r.headers['content-type'] !== 'application/json') return refuse(415, 'not json');
    let b: Record<string, string>;
    try {
      b = JSON.parse(r.body) as Record<string, string>;
    } catch {
      return refuse(400, 'body is not JSON');
    }
    const allowed = new Set(['state', 'target_url', 'description', spec.contextKey]);
    if (!Object.keys(b).every((k) => allowed.has(k)) || !(spec.states as readonly string[]).includes(b.state!) || typeof b.description !== 'string' || [...b.description].length > 140) return refuse(422, `invalid fields ${r.body}`);
    // GitLab refuses a transition to the state a commit status already has.
    if (forge === 'gitlab' && lastState.get(m[1]!) === b.state) return refuse(400, `Cannot transition status via :${b.state} from :${b.state}`);
    if (failFirst && i === 0) return { status: 502, body: { message: 'Bad Gateway' } };
    lastState.set(m[1]!, b.state!);
    posted.push({ sha: m[1]!, state: b.state!, description: b.description, target_url: b.target_url!, context: b[spec.contextKey]! });
    return { status: 201, body: spec.response(m[1]!, b) };
  });
  function refuse(status: number, why: string): Answer {
    refused.push(why);
    return { status, body: { message: why } };
  }
  return { receiver, posted, refused };
}

async function scenario(forge: ForgeName, withNotifications: boolean) {
  const { repo, commit } = fleetRepo();
  const h1 = commit({ 'prod/eu/web-01/host.yaml': '', 'prod/eu/web-02/host.yaml': '', 'prod/eu/web-03/host.yaml': '', 'README.md': 'fleet\n' }, 'initial');
  const server = await forgeServer(forge, forge === 'github');
  cleanups.push(() => server.receiver.close());
  const hook = await startReceiver();
  cleanups.push(() => hook.close());
  const dataDir = tempDir(`notify-hub-${forge}`);
  dirs.push(dataDir);
  writeFileSync(join(dataDir, 'forge.token'), TOKEN + '\n');
  writeFileSync(join(dataDir, 'hook.secret'), HOOK_SECRET + '\n');
  const notify = withNotifications
    ? `notify:
  webUrl: https://hub.example.com
  groupWindow: 300ms
  sinks:
    ops: { type: webhook, url: "${hook.url}/hook", secretFile: ${join(dataDir, 'hook.secret')} }
  rules:
    - { name: prod, events: [failed, offline, recovered, headApplied], tags: [prod], sinks: [ops] }
`
    : '';
  writeFileSync(
    join(dataDir, 'hub.yaml'),
    `commitStatus:
  forge: ${forge}
  baseUrl: ${forgeApis[forge].baseUrl(server.receiver.url)}
  repository: ops/fleet
  tokenFile: ${join(dataDir, 'forge.token')}
  webUrl: https://hub.example.com
  context: gitfleet/prod
  debounce: 300ms
  minInterval: 100ms
  retry: { initialDelay: 100ms, maxDelay: 1s }
${notify}`,
  );
  const hub: HubProcess = await startHubProcess({ dataDir, args: ['--config', join(dataDir, 'hub.yaml')], env: { GITFLEET_HUB_REPO: repo, GITFLEET_HUB_POLL_INTERVAL: '1s' } });
  cleanups.push(() => hub.stop());
  const head = async () => (await api<{ head: string | null }>(hub.url, '/healthz', { token: null })).body.head;
  await waitFor('the hub to read the head', async () => (await head()) === h1);
  const agents: SimAgent[] = [];
  for (const host of ['web-01', 'web-02', 'web-03']) agents.push(await connectSimAgent({ agentUrl: hub.agentUrl, host, token: ENROLL, place: `prod/eu/${host}` }));
  cleanups.push(() => agents.forEach((a) => a.close()));
  const [a1, a2, a3] = agents as [SimAgent, SimAgent, SimAgent];

  // web-01 applies h1 first: pending while the others have not.
  a1.report(simStatus('web-01', { applied: h1 }));
  const pendingState = forge === 'gitlab' ? 'running' : 'pending';
  await waitFor(`a ${pendingState} status for h1`, () => server.posted.find((p) => p.sha === h1 && p.state === pendingState), 20_000);
  a2.report(simStatus('web-02', { applied: h1 }));
  a3.report(simStatus('web-03', { applied: h1 }));
  await waitFor('success for h1', () => server.posted.find((p) => p.sha === h1 && p.state === 'success'), 20_000);
  const h1Posts = server.posted.filter((p) => p.sha === h1);
  assert.equal(h1Posts.at(-1)!.description, '3 of 3 hosts applied it');
  assert.ok(h1Posts.slice(0, -1).every((p) => p.state === pendingState && /^([0-2] of [1-3] hosts applied it|waiting for hosts to report)$/.test(p.description)), JSON.stringify(h1Posts));
  for (const p of h1Posts) {
    assert.equal(p.target_url, `https://hub.example.com/#/commits/${h1}`);
    assert.equal(p.context, 'gitfleet/prod');
  }

  // A new head: web-01 fails on it, web-02 applies it.
  const h2 = commit({ 'prod/eu/web-01/app.yaml': 'files:\n  /etc/motd:\n    content: "two\\n"\n' }, 'second');
  await waitFor('the hub to read the new head', async () => (await head()) === h2, 20_000);
  a1.report(simStatus('web-01', { applied: h1, failedOn: h2 }));
  a2.report(simStatus('web-02', { applied: h2 }));
  const failureState = forge === 'gitlab' ? 'failed' : 'failure';
  const failure = await waitFor('failure for h2', () => server.posted.find((p) => p.sha === h2 && p.state === failureState), 20_000);
  assert.equal(failure.description, '1 of 3 hosts failed: web-01');
  assert.equal(failure.target_url, `https://hub.example.com/#/commits/${h2}`);
  assert.deepEqual(server.refused, [], 'every request had the documented shape');
  return { hub, hook, server, agents, h1, h2 };
}

test('GitHub commit statuses from a real hub (the first post gets a 502 and is retried), and signed webhook notifications', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const { hub, hook, agents, h1, h2 } = await scenario('github', true);
  // The forge stub records a post when it arrives; the hub counts it delivered once the answer is back: wait for that.
  const metrics = await waitFor('three commit statuses counted delivered', async () => {
    const body = (await api<string>(hub.url, '/metrics', { token: VIEWER })).body;
    return /gitfleet_hub_commit_statuses_total\{forge="github",result="delivered"\} [3-9]/.test(body) ? body : null;
  });
  assert.match(metrics, /gitfleet_hub_commit_statuses_total\{forge="github",result="retried"\} 1/);
  if (requireComponent(t, 'promtool', prometheusMissing())) {
    const lint = promtoolCheck(metrics);
    assert.equal(lint.code, 0, lint.output);
  }

  const messages = () =>
    hook.requests.map((r) => {
      assert.equal(r.headers['x-gitfleet-signature-256'], 'sha256=' + createHmac('sha256', HOOK_SECRET).update(r.body).digest('hex'), 'signed');
      return JSON.parse(r.body) as NotifyMessage;
    });
  await waitFor('the head-applied and failed notifications', () => messages().some((m) => m.event === 'failed') && messages().some((m) => m.event === 'headApplied'), 20_000);
  const titles = messages().map((m) => m.title);
  assert.ok(titles.includes(`${h1.slice(0, 7)} applied on all 3 hosts under prod`), titles.join(' | '));
  assert.ok(titles.includes(`web-01 (prod) failed on ${h2.slice(0, 7)}`), titles.join(' | '));

  // web-01 recovers: it applies h2; then web-03's connection drops.
  agents[0]!.report(simStatus('web-01', { applied: h2 }));
  await waitFor('the recovery', () => messages().some((m) => m.event === 'recovered'), 20_000);
  assert.ok(messages().some((m) => m.title === `web-01 (prod) recovered: no longer failed on ${h2.slice(0, 7)}`), messages().map((m) => m.title).join(' | '));
  agents[2]!.close();
  await waitFor('the offline notification', () => messages().some((m) => m.event === 'offline'), 20_000);
  assert.ok(messages().some((m) => m.title === `web-03 (prod) went offline (last applied ${h1.slice(0, 7)})`), messages().map((m) => m.title).join(' | '));

  // The receiver records a message when it arrives; the hub counts it delivered once the answer is back: wait for that.
  const view = await waitFor('every message received counted delivered', async () => {
    const v = (await api<NotificationsView>(hub.url, '/api/v1/notifications', { token: VIEWER })).body;
    return v.sinks[0]?.delivered === hook.requests.length ? v : null;
  });
  assert.equal(view.enabled, true);
  assert.equal(view.sinks[0]!.name, 'ops');
  assert.equal(view.commitStatus!.forge, 'github');
  assert.equal(view.commitStatus!.retried, 1);
  assert.ok(!JSON.stringify(view).includes(TOKEN));
  assert.equal((await api(hub.url, '/api/v1/notifications', { token: null })).status, 401);
  assert.ok(!JSON.stringify(hub.logs).includes(TOKEN), 'the forge token is in no log line');
});

test('GitLab commit statuses from a real hub: running, success, failed; never the same state twice', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const { server, h1 } = await scenario('gitlab', false);
  const states = server.posted.filter((p) => p.sha === h1).map((p) => p.state);
  assert.deepEqual(states, ['running', 'success']);
});

test('Gitea commit statuses from a real hub: pending, success, failure', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  await scenario('gitea', false);
});
