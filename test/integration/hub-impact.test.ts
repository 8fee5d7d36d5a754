// The hub's impact preview end to end: a real hub process reads a real Git
// repo; each new head (here announced by a signed push webhook) gets its
// impact against the head before it, served at GET /api/v1/commits/:rev/impact
// — pending while computed, then the hosts that change with their field diffs;
// paging, prefixes, encrypted values kept masked, bad and unknown revisions,
// access, and a head that does not render.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { VIEWER, WEBHOOK_SECRET, api, removeDir, startHubProcess, tempDir, waitFor } from './hub-harness.ts';
import type { HubProcess } from './hub-harness.ts';
import { requireComponent } from '../harness/require.ts';
import { localGitRepo } from '../harness/local-git-repo.ts';
import type { Impact } from '../../repo/impact/types.ts';
import { genericWebhookHeaders } from '../../hub/webhook/verify-webhook.ts';
import { encryptSops, GITFLEET_ENCRYPTED_REGEX } from '../../repo/secrets/sops.ts';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';

const gitMissing = spawnSync('git', ['--version']).status === 0 ? null : 'the git command is not installed';
const dirs: string[] = [];
let hub: HubProcess;
const repo = tempDir('impact-repo');
dirs.push(repo);

const { git, commit } = localGitRepo(repo);

/** Announces the new head the way a forge does (generic signed webhook), so the hub reads it now. */
async function announce(revision: string): Promise<void> {
  const body = JSON.stringify({ ref: 'refs/heads/main', after: revision });
  const res = await api(hub.url, '/api/v1/hooks/git', { token: null, method: 'POST', body, headers: { 'content-type': 'application/json', ...genericWebhookHeaders(WEBHOOK_SECRET, body) } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

interface ImpactResponse {
  to: string;
  from: string | null;
  status: string;
  error?: string;
  head: string | null;
  impact?: Impact;
  page?: { offset: number; limit: number; hosts: number };
}

const app = (image: string, region: string) => `containers:\n  web:\n    image: ${image}\n    network: host\n    env: { REGION: ${region} }\n`;
let first = '';

before(async () => {
  if (gitMissing) return;
  git('init', '-q', '-b', 'main');
  const files: Record<string, string> = {
    'base.yaml': 'files:\n  /etc/motd:\n    content: "fleet\\n"\n',
    'prod/eu/app.yaml': app('nginx:1.25', 'eu'),
    'prod/us/app.yaml': app('nginx:1.25', 'us'),
  };
  for (let i = 1; i <= 12; i++) files[`prod/eu/eu-${String(i).padStart(2, '0')}/host.yaml`] = '';
  for (let i = 1; i <= 25; i++) files[`prod/us/us-${String(i).padStart(2, '0')}/host.yaml`] = '';
  for (let i = 1; i <= 3; i++) files[`staging/st-${i}/host.yaml`] = '';
  first = commit(files, 'initial');
  const dataDir = tempDir('hub-impact-data');
  dirs.push(dataDir);
  hub = await startHubProcess({ dataDir, env: { GITFLEET_HUB_REPO: repo, GITFLEET_HUB_REF: 'main', GITFLEET_HUB_POLL_INTERVAL: '1h' } });
  await waitFor('the hub to read the head', async () => (await api<{ head: string | null }>(hub.url, '/healthz', { token: null })).body.head);
});

after(async () => {
  await hub?.stop();
  dirs.forEach(removeDir);
});

test('the first head has no earlier head to compare with', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const res = await api<ImpactResponse>(hub.url, `/api/v1/commits/${first}/impact`);
  assert.equal(res.status, 200);
  assert.equal(res.body.status, 'no-base');
  assert.equal(res.body.from, null);
  assert.equal(res.body.impact, undefined);
});

test('a new head: its impact against the previous head, the affected hosts only, with field diffs and counts per tag', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const second = commit({ 'prod/us/app.yaml': app('nginx:1.27', 'us'), 'prod/eu/extra.yaml': 'files:\n  /etc/eu.conf:\n    content: "x\\n"\n' }, 'us: nginx 1.27; eu: a file');
  await announce(second);
  const res = await waitFor('the impact of the second head', async () => {
    const r = await api<ImpactResponse>(hub.url, `/api/v1/commits/${second}/impact`);
    assert.ok(r.status === 200 || r.status === 202, `status ${r.status}: ${JSON.stringify(r.body)}`);
    if (r.status === 202) assert.equal(r.body.status, 'computing');
    return r.status === 200 ? r : null;
  }, 30_000);
  assert.equal(res.body.status, 'ready', res.body.error);
  assert.equal(res.body.from, first);
  assert.equal(res.body.head, second);
  const impact = res.body.impact!;
  assert.deepEqual([impact.affected, impact.total], [37, 40]);
  assert.deepEqual(impact.groups, [{ tag: 'prod/us', affected: 25, hosts: 25 }, { tag: 'prod/eu', affected: 12, hosts: 12 }]);
  assert.deepEqual(impact.tags.find((c) => c.tag === 'prod'), { tag: 'prod', affected: 37, hosts: 37 });
  assert.equal(impact.hosts.length, 37);
  assert.ok(!impact.hosts.some((h) => h.host.startsWith('st-')), 'unaffected hosts are not listed');
  const us = impact.hosts.find((h) => h.host === 'us-07')!;
  assert.deepEqual(us.resources.map((r) => [r.change, r.id, r.fields]), [['changed', 'container/web', [{ path: 'image', from: 'nginx:1.25', to: 'nginx:1.27' }]]]);
  const eu = impact.hosts.find((h) => h.host === 'eu-01')!;
  assert.deepEqual(eu.resources.map((r) => [r.change, r.id]), [['added', 'file//etc/eu.conf']]);

  // A prefix finds it; the host list pages.
  const paged = await api<ImpactResponse>(hub.url, `/api/v1/commits/${second.slice(0, 10)}/impact?offset=30&limit=5`, { token: VIEWER });
  assert.equal(paged.status, 200);
  assert.deepEqual(paged.body.page, { offset: 30, limit: 5, hosts: 37 });
  assert.deepEqual(paged.body.impact!.hosts.map((h) => h.host), impact.hosts.slice(30, 35).map((h) => h.host));
  assert.equal(paged.body.impact!.affected, 37, 'the counts are for all hosts, whatever the page');
});

test('encrypted values stay «secret» on the hub: never decrypted, never in the answer', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const recipient = await identityToRecipient(await generateX25519Identity());
  const layer = await encryptSops({ vars: { token: 'hub-impact-plaintext-7c41' }, files: { '/etc/token': { content: 'T=hub-impact-plaintext-7c41\n', mode: '0600' } } }, [recipient], { encryptedRegex: GITFLEET_ENCRYPTED_REGEX });
  const third = commit({ 'staging/st-1/token.sops.yaml': layer }, 'st-1: a token');
  await announce(third);
  const res = await waitFor('the impact of the third head', async () => {
    const r = await api<ImpactResponse>(hub.url, `/api/v1/commits/${third}/impact`);
    return r.status === 200 ? r : null;
  }, 30_000);
  assert.equal(res.body.status, 'ready', res.body.error);
  assert.doesNotMatch(JSON.stringify(res.body), /hub-impact-plaintext|7c41/);
  assert.deepEqual(res.body.impact!.hosts.map((h) => [h.host, h.resources.map((r) => [r.change, r.id, r.secret])]), [['st-1', [['added', 'file//etc/token', true]]]]);
});

test('a head that does not render: the impact failed, saying where', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const broken = commit({ 'prod/eu/app.yaml': 'containers:\n  web:\n    imagee: nginx\n' }, 'broken');
  await announce(broken);
  const res = await waitFor('the impact of the broken head', async () => {
    const r = await api<ImpactResponse>(hub.url, `/api/v1/commits/${broken}/impact`);
    return r.body.status === 'failed' ? r : null;
  }, 30_000);
  assert.equal(res.status, 200);
  assert.match(res.body.error!, /^the tree does not render at to [0-9a-f]{12}: .*prod\/eu\/app\.yaml:3:5  UNKNOWN_KEY  unknown key "imagee"/);
});

test('bad, unknown and unauthenticated requests', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const cases = await Promise.all([
    api<{ error: { code: string; message: string } }>(hub.url, '/api/v1/commits/HEAD/impact'),
    api<{ error: { code: string } }>(hub.url, '/api/v1/commits/abc/impact'),
    api<{ error: { code: string } }>(hub.url, `/api/v1/commits/${'0'.repeat(40)}/impact`),
    api<{ error: { code: string } }>(hub.url, `/api/v1/commits/${first}/impact?limit=100000`),
    api<{ error: { code: string } }>(hub.url, `/api/v1/commits/${first}/impact?bogus=1`),
    api(hub.url, `/api/v1/commits/${first}/impact`, { token: null }),
    api(hub.url, `/api/v1/commits/${first}/impact`, { token: 'wrong-token-0123456789abcdef' }),
  ]);
  assert.deepEqual(cases.map((c) => c.status), [400, 400, 404, 400, 400, 401, 401]);
  assert.equal(cases[0]!.body.error.code, 'INVALID_VALUE');
  assert.equal(cases[2]!.body.error.code, 'NOT_FOUND');
});
