// Git awareness end to end: the hub reads a real Git repo (through repo/git
// and repo/tree), and a signed push webhook sends reconcile-now to exactly the
// connected hosts whose layers the push changed.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { ENROLL, WEBHOOK_SECRET, api, makeStatus, removeDir, startAgent, startHubProcess, tempDir, waitFor } from './hub-harness.ts';
import type { AgentProcess, HubProcess } from './hub-harness.ts';
import { requireComponent } from '../harness/require.ts';
import { localGitRepo } from '../harness/local-git-repo.ts';

const gitMissing = spawnSync('git', ['--version']).status === 0 ? null : 'the git command is not installed';
import type { FleetSummary, HostSummary } from '../../hub/fleet/fleet-index.ts';

const dirs: string[] = [];
const agents = new Map<string, AgentProcess>();
let hub: HubProcess;
const repo = tempDir('fleet-repo');
dirs.push(repo);

const { git, commit } = localGitRepo(repo);

const motd = (text: string) => `files:\n  /etc/motd:\n    content: "${text}\\n"\n`;

before(async () => {
  if (gitMissing) return;
  git('init', '-q', '-b', 'main');
  commit(
    {
      'prod/eu/web-01/host.yaml': 'tags: [gpu]\n',
      'prod/eu/web-03/host.yaml': '',
      'prod/us/web-02/host.yaml': '',
      'prod/us/kiosks/base.yaml': motd('kiosk'),
      'tags/gpu/driver.yaml': motd('gpu'),
      'README.md': 'fleet\n',
    },
    'initial',
  );
  const dataDir = tempDir('hub-git-data');
  dirs.push(dataDir);
  hub = await startHubProcess({ dataDir, env: { GITFLEET_HUB_REPO: repo, GITFLEET_HUB_REF: 'main', GITFLEET_HUB_POLL_INTERVAL: '1h' } });
  await waitFor('the hub to read the head', async () => (await api<{ head: string | null }>(hub.url, '/healthz', { token: null })).body.head);
  const placements: Array<[string, string]> = [
    ['web-01', 'prod/eu/web-01'],
    ['web-02', 'prod/us/web-02'],
    ['kiosk-1', 'prod/us/kiosks'],
    ['ghost', ''],
  ];
  for (const [host, place] of placements) {
    const stateDir = tempDir(`agent-${host}`);
    dirs.push(stateDir);
    const a = await startAgent({ hubUrl: hub.agentUrl, host, stateDir, token: ENROLL, place });
    agents.set(host, a);
  }
  await waitFor('every agent to connect', () => [...agents.values()].every((a) => a.connected()));
});

after(async () => {
  await Promise.all([...agents.values()].map((a) => a.stop()));
  await hub?.stop();
  dirs.forEach(removeDir);
});

function sign(body: string): string {
  return createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex');
}

async function push(files: Record<string, string>, headers: (body: string) => Record<string, string>) {
  const before = new Map([...agents].map(([h, a]) => [h, a.reconciles().length]));
  const revision = commit(files, `change ${Object.keys(files).join(' ')}`);
  const body = JSON.stringify({ ref: 'refs/heads/main', after: revision });
  const res = await api<{ reached: number; affected: number; revision: string }>(hub.url, '/api/v1/hooks/git', { token: null, method: 'POST', body, headers: { 'content-type': 'application/json', ...headers(body) } });
  const notifiedNow = () => [...agents].filter(([h, a]) => a.reconciles().length > before.get(h)!).map(([h]) => h).sort();
  // Each reconcile-now reaches its agent's process and comes back through a pipe, later on a loaded machine:
  // wait for as many as the hub says it reached, then one more moment so a host notified too many shows as well.
  const reached = res.status === 200 ? res.body.reached : 0;
  if (reached > 0) await waitFor(`${reached} agent(s) to get reconcile-now`, () => notifiedNow().length >= reached, 20_000);
  await new Promise((r) => setTimeout(r, 400));
  return { res, notified: notifiedNow(), revision };
}

const github = (body: string) => ({ 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': `sha256=${sign(body)}` });
/** The generic format: a timestamp signed with the body. */
const generic = (body: string) => {
  const ts = String(Math.floor(Date.now() / 1000));
  return { 'x-gitfleet-timestamp': ts, 'x-gitfleet-signature': `sha256=${sign(`${ts}.${body}`)}` };
};

test('declared hosts, never-seen hosts and hosts without a directory are shown as such', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const hosts = (await api<{ hosts: HostSummary[] }>(hub.url, '/api/v1/hosts?limit=100')).body.hosts;
  const byId = new Map(hosts.map((h) => [h.id, h]));
  assert.equal(byId.get('web-03')?.connectivity, 'NeverSeen');
  assert.equal(byId.get('web-03')?.declared, true);
  assert.equal(byId.get('ghost')?.declared, false);
  assert.equal(byId.get('kiosk-1')?.declared, true);
  assert.deepEqual(byId.get('web-01')?.tags, ['prod', 'prod/eu', 'gpu']);
  const undeclared = (await api<{ hosts: HostSummary[] }>(hub.url, '/api/v1/hosts?state=Undeclared')).body.hosts;
  assert.deepEqual(undeclared.map((h) => h.id), ['ghost']);
  const summary = (await api<FleetSummary>(hub.url, '/api/v1/summary')).body;
  assert.equal(summary.head?.revision, git('rev-parse', 'HEAD'));
  assert.equal(summary.connectivity.NeverSeen, 1);
});

test('a push reaches exactly the hosts whose layers changed', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const head = git('rev-parse', 'HEAD');
  agents.get('web-01')!.send({ status: makeStatus('web-01', { revision: head }) });
  const eu = await push({ 'prod/eu/app.yaml': motd('eu') }, github);
  assert.equal(eu.res.status, 200);
  assert.deepEqual(eu.notified, ['web-01']);
  assert.equal(eu.res.body.affected, 2, 'web-01 and the never-seen web-03');
  const web01 = (await api<{ summary: HostSummary }>(hub.url, '/api/v1/hosts/web-01')).body.summary;
  assert.equal(web01.behind, true);

  const gpu = await push({ 'tags/gpu/driver.yaml': motd('gpu2') }, github);
  assert.deepEqual(gpu.notified, ['web-01']);

  const kiosks = await push({ 'prod/us/kiosks/base.yaml': motd('kiosk2') }, (body) => ({ 'x-gitea-event': 'push', 'x-gitea-delivery': randomUUID(), 'x-gitea-signature': sign(body) }));
  assert.deepEqual(kiosks.notified, ['kiosk-1']);

  const us = await push({ 'prod/us/web-02/extra.yaml': motd('two') }, () => ({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': WEBHOOK_SECRET }));
  assert.deepEqual(us.notified, ['web-02']);

  const rootChange = await push({ 'README.md': 'fleet v2\n' }, generic);
  assert.deepEqual(rootChange.notified, ['ghost', 'kiosk-1', 'web-01', 'web-02']);
});

test('a wrong signature or token is refused and notifies nobody', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const forged = await push({ 'prod/eu/app.yaml': motd('forged') }, (body) => ({ 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': `sha256=${sign(body + 'x')}` }));
  assert.equal(forged.res.status, 401);
  assert.deepEqual(forged.notified, []);
  const gitlab = await push({ 'prod/eu/app.yaml': motd('forged2') }, () => ({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': 'wrong-token-0123456789' }));
  assert.equal(gitlab.res.status, 401);
  const unsigned = await push({ 'prod/eu/app.yaml': motd('forged3') }, () => ({}));
  assert.equal(unsigned.res.status, 401);
  assert.deepEqual(unsigned.notified, []);
  const other = await push({ 'prod/eu/app.yaml': motd('other') }, (body) => ({ 'x-github-event': 'issues', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': `sha256=${sign(body)}` }));
  assert.equal(other.res.status, 202);
  assert.deepEqual(other.notified, []);
});
