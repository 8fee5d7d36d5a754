// The impact preview's computation (repo/impact) on real fleet trees read by
// the real loader: added, changed and removed resources with their field
// diffs, added and removed hosts, counts per tag and per host, encrypted
// values kept masked, and unaffected hosts not listed.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { computeImpact } from '../../repo/impact/compute-impact.ts';
import { impactText } from '../../repo/impact/impact-text.ts';
import { renderTree } from '../../repo/impact/render-tree.ts';
import { encryptSops, GITFLEET_ENCRYPTED_REGEX } from '../../repo/secrets/sops.ts';
import { makeTree } from './repo-fixture.ts';

const base = {
  'base.yaml': 'files:\n  /etc/motd:\n    content: "hello ${host}\\n"\n',
  'prod/eu/app.yaml': 'containers:\n  web:\n    image: nginx:1.25\n    network: host\n    env: { REGION: eu }\n',
  'prod/us/app.yaml': 'containers:\n  web:\n    image: nginx:1.25\n    network: host\n    env: { REGION: us }\n',
  'prod/eu/eu-1/host.yaml': '',
  'prod/eu/eu-2/host.yaml': 'tags: [canary]\n',
  'prod/us/us-1/host.yaml': '',
  'prod/us/us-2/host.yaml': '',
  'prod/us/us-3/host.yaml': '',
  'staging/st-1/host.yaml': '',
  'tags/canary/canary.yaml': 'units:\n  probe.service:\n    content: "[Service]\\nExecStart=/bin/true\\n"\n',
};

async function impactOf(t: TestContext, from: Record<string, string>, to: Record<string, string>, changedFiles?: Set<string>) {
  const before = await renderTree(makeTree(t, from));
  const after = await renderTree(makeTree(t, to));
  assert.deepEqual(before.issues, []);
  assert.deepEqual(after.issues, []);
  return computeImpact({ from: { revision: 'a'.repeat(40), tree: before }, to: { revision: 'b'.repeat(40), tree: after }, changedFiles });
}

test('an image bump in prod/us changes that container on the three us hosts only, with the field diff and counts per tag', async (t) => {
  const impact = await impactOf(t, base, { ...base, 'prod/us/app.yaml': base['prod/us/app.yaml'].replace('nginx:1.25', 'nginx:1.27') });
  assert.equal(impact.total, 6);
  assert.equal(impact.affected, 3);
  assert.deepEqual(impact.hosts.map((h) => h.host), ['us-1', 'us-2', 'us-3']);
  for (const h of impact.hosts) {
    assert.equal(h.change, 'changed');
    assert.deepEqual(h.resources, [{ id: 'container/web', kind: 'container', name: 'web', change: 'changed', fields: [{ path: 'image', from: 'nginx:1.25', to: 'nginx:1.27' }], source: { file: 'prod/us/app.yaml', line: 2 } }]);
  }
  assert.deepEqual(impact.groups, [{ tag: 'prod/us', affected: 3, hosts: 3 }]);
  assert.deepEqual(impact.tags, [{ tag: 'prod', affected: 3, hosts: 5 }, { tag: 'prod/us', affected: 3, hosts: 3 }]);
  assert.deepEqual(impact.perHost, [{ kind: 'container', change: 'changed', hosts: 3, min: 1, max: 1 }]);
  assert.deepEqual(impact.resources, [{ id: 'container/web', change: 'changed', hosts: 3, fields: ['image'] }]);
  const text = impactText(impact);
  assert.match(text.split('\n')[0]!, /this change affects 3 of 6 hosts: prod\/us 3$/);
  assert.match(text, /per host: 1 container changed\n/);
  assert.match(text, /image: "nginx:1\.25" → "nginx:1\.27"/);
  assert.doesNotMatch(text, /eu-1|st-1/);
});

test('added, changed and removed resources, nested field paths, and a partition of the affected hosts by directory', async (t) => {
  const to = {
    ...base,
    // eu: env changes and a port list is added; the motd is removed for eu; a unit is added at the root.
    'prod/eu/app.yaml': 'containers:\n  web:\n    image: nginx:1.25\n    network: host\n    env: { REGION: eu-west, TIER: front }\nfiles:\n  /etc/motd: { absent: true }\n',
    'base.yaml': base['base.yaml'] + 'units:\n  backup.timer:\n    content: "[Timer]\\nOnCalendar=daily\\n"\n',
  };
  const impact = await impactOf(t, base, to);
  assert.equal(impact.affected, 6, 'a root layer change reaches every host');
  const eu1 = impact.hosts.find((h) => h.host === 'eu-1')!;
  const byId = Object.fromEntries(eu1.resources.map((r) => [r.id, r]));
  assert.equal(byId['unit/backup.timer']?.change, 'added');
  assert.equal(byId['file//etc/motd']?.change, 'removed');
  assert.equal(byId['file//etc/motd']?.source.file, 'base.yaml');
  assert.deepEqual(byId['container/web']?.fields, [
    { path: 'env.REGION', from: 'eu', to: 'eu-west' },
    { path: 'env.TIER', to: 'front' },
  ]);
  const us1 = impact.hosts.find((h) => h.host === 'us-1')!;
  assert.deepEqual(us1.resources.map((r) => `${r.change} ${r.id}`), ['added unit/backup.timer']);
  // Groups partition the affected hosts; their counts add up.
  assert.deepEqual(impact.groups, [
    { tag: 'prod/us', affected: 3, hosts: 3 },
    { tag: 'prod/eu', affected: 2, hosts: 2 },
    { tag: 'staging', affected: 1, hosts: 1 },
  ]);
  assert.equal(impact.groups.reduce((n, g) => n + g.affected, 0), impact.affected);
  const perHost = Object.fromEntries(impact.perHost.map((c) => [`${c.kind} ${c.change}`, c]));
  assert.deepEqual(perHost['unit added'], { kind: 'unit', change: 'added', hosts: 6, min: 1, max: 1 });
  assert.deepEqual(perHost['file removed'], { kind: 'file', change: 'removed', hosts: 2, min: 1, max: 1 });
  assert.match(impactText(impact), /per host: 1 unit added, .*1 file removed \(on 2 hosts\)/);
});

test('a host added and a host removed are listed as such with all their resources; a tag-only change lists its tag count', async (t) => {
  const from = { ...base };
  const to: Record<string, string> = { ...base, 'prod/eu/eu-3/host.yaml': 'tags: [canary]\n' };
  delete to['staging/st-1/host.yaml'];
  to['staging/keep.yaml'] = 'vars: { x: "1" }\n';
  const impact = await impactOf(t, from, to);
  const added = impact.hosts.find((h) => h.host === 'eu-3')!;
  const removed = impact.hosts.find((h) => h.host === 'st-1')!;
  assert.equal(added.change, 'added');
  assert.deepEqual(added.tags, ['prod', 'prod/eu', 'canary']);
  assert.deepEqual(added.resources.map((r) => `${r.change} ${r.id}`).sort(), ['added container/web', 'added file//etc/motd', 'added unit/probe.service']);
  assert.equal(removed.change, 'removed');
  assert.deepEqual(removed.resources.map((r) => `${r.change} ${r.id}`), ['removed file//etc/motd']);
  assert.equal(impact.affected, 2);
  assert.equal(impact.total, 7);
  assert.deepEqual(impact.tags.find((c) => c.tag === 'canary'), { tag: 'canary', affected: 1, hosts: 2 });
  assert.match(impactText(impact), /hosts: 1 added, 1 removed/);
});

test('no change, and a change that only moves a declaration to another file, affect no host', async (t) => {
  const same = await impactOf(t, base, base);
  assert.equal(same.affected, 0);
  assert.deepEqual(same.hosts, []);
  assert.match(impactText(same), /this change affects no host \(6 hosts compared\)/);
  const moved: Record<string, string> = { ...base, 'prod/us/web.yaml': base['prod/us/app.yaml'] };
  delete moved['prod/us/app.yaml'];
  const impact = await impactOf(t, base, moved);
  assert.equal(impact.affected, 0, 'where a resource is declared is not what a host runs');
});

test('long values are cut, arrays that change length differ whole, and drift and depends_on are compared', async (t) => {
  const long = 'x'.repeat(500);
  const from = { ...base, 'staging/st-1/f.yaml': `files:\n  /etc/big:\n    content: "${long}"\ncontainers:\n  job:\n    image: busybox\n    network: none\n    command: [sleep, "1"]\n` };
  const to = { ...base, 'staging/st-1/f.yaml': `files:\n  /etc/big:\n    content: "${long}y"\n    drift: report\ncontainers:\n  job:\n    image: busybox\n    network: none\n    command: [sleep, "2", "3"]\n    depends_on: [file//etc/big]\n` };
  const impact = await impactOf(t, from, to);
  const [host] = impact.hosts;
  assert.equal(host?.host, 'st-1');
  const big = host.resources.find((r) => r.id === 'file//etc/big')!;
  const content = big.fields!.find((f) => f.path === 'content')!;
  assert.equal(content.cut, true);
  assert.match(String(content.to), /^x{200}… \(501 characters\)$/);
  assert.deepEqual(big.fields!.find((f) => f.path === 'drift'), { path: 'drift', from: 'correct', to: 'report' });
  const job = host.resources.find((r) => r.id === 'container/job')!;
  assert.deepEqual(job.fields, [
    { path: 'command', from: ['sleep', '1'], to: ['sleep', '2', '3'] },
    { path: 'depends_on', from: [], to: ['file//etc/big'] },
  ]);
});

test('encrypted values stay «secret» (never decrypted): a re-encrypted secret shows as possibly changed, its plaintext nowhere', async (t) => {
  const recipient = await identityToRecipient(await generateX25519Identity());
  const rules = { encryptedRegex: GITFLEET_ENCRYPTED_REGEX };
  const layer = (token: string) => encryptSops({ vars: { api_token: token }, files: { '/etc/api.env': { content: `TOKEN=${token}\n`, mode: '0600' } } }, [recipient], rules);
  const plain = 'containers:\n  api:\n    image: busybox:1\n    network: none\n    env: { API_TOKEN: "${api_token}" }\n';
  const from = { ...base, 'staging/st-1/api.sops.yaml': await layer('tok-OLD-4f1c9e'), 'staging/st-1/api.yaml': plain };
  const to = { ...base, 'staging/st-1/api.sops.yaml': await layer('tok-NEW-77d2aa'), 'staging/st-1/api.yaml': plain.replace('busybox:1', 'busybox:2') };
  const impact = await impactOf(t, from, to, new Set(['staging/st-1/api.sops.yaml']));
  const json = JSON.stringify(impact);
  assert.doesNotMatch(json, /tok-OLD|tok-NEW|4f1c9e|77d2aa/);
  assert.equal(impact.affected, 1);
  const [host] = impact.hosts;
  const api = host!.resources.find((r) => r.id === 'container/api')!;
  assert.equal(api.secret, true);
  assert.equal(api.encryptedChanged, true);
  assert.deepEqual(api.fields, [{ path: 'image', from: 'busybox:1', to: 'busybox:2' }]);
  const file = host!.resources.find((r) => r.id === 'file//etc/api.env')!;
  assert.equal(file.secret, true);
  assert.equal(file.encryptedChanged, true);
  assert.deepEqual(file.fields, [], 'the shown (masked) content is the same «secret» at both revisions');
  const text = impactText(impact);
  assert.doesNotMatch(text, /tok-OLD|tok-NEW/);
  assert.match(text, /its encrypted file changed: the values are not decrypted, so they may differ/);
  // Without the changed-file list, a re-encrypted layer whose shown values are equal lists no host.
  const blind = await impactOf(t, from, { ...from, 'staging/st-1/api.sops.yaml': await layer('tok-OTHER-0b3d') });
  assert.equal(blind.affected, 0);
});

test('repo text with terminal escapes is shown escaped in the text output', async (t) => {
  const to = { ...base, 'staging/st-1/m.yaml': 'files:\n  /etc/evil:\n    content: "\\e]0;owned\\a\\u202e"\n' };
  const text = impactText(await impactOf(t, base, to));
  assert.doesNotMatch(text, /\u001b|\u202e|\u0007/);
});

test('a tree with errors renders no host and returns its issues with file and line', async (t) => {
  const tree = await renderTree(makeTree(t, { ...base, 'prod/us/app.yaml': 'containers:\n  web:\n    imagee: nginx\n' }));
  assert.equal(tree.hosts.size, 0);
  assert.ok(tree.issues.length > 0);
  assert.ok(tree.issues.some((i) => i.file === 'prod/us/app.yaml' && i.line === 3 && /imagee/.test(i.message)), JSON.stringify(tree.issues));
});
