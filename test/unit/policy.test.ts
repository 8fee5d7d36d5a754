// The host policy: every rule family against a desired state, the baseline
// file shipped in packaging/, narrowing by a repo policy and the refusal of a
// widening (at its file:line), and reading policy.yaml files from a tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { evaluatePolicy, imageRepository, narrowPolicy, policyRules, type Policy } from '../../shared/policy/index.ts';
import { fileDenied, mountDenied } from '../../shared/policy/evaluate.ts';
import { effectivePolicy, parsePolicyText, readRepoPolicies } from '../../repo/policy/policy-files.ts';
import { loadDesiredState, validateTree } from '../../repo/tree/index.ts';
import { HostPolicy, PolicyViolationError } from '../../agent/policy/host-policy.ts';
import { container, desired, file, unit } from '../helpers/desired.ts';

const root = resolve(import.meta.dirname, '../..');
const baselineText = readFileSync(join(root, 'packaging/policy.yaml'), 'utf8');
const baseline = parsePolicyText('packaging/policy.yaml', baselineText);

function rulesOf(policy: Policy, resources: Parameters<typeof desired>[0]): string[] {
  return evaluatePolicy(policy, desired(resources)).map((v) => v.rule);
}

test('the shipped baseline parses and sets every rule family', () => {
  assert.deepEqual(baseline.issues, []);
  const p = baseline.policy!;
  assert.equal(p.containers?.allowPrivileged, false);
  assert.equal(p.units?.allowRootUser, false);
  assert.deepEqual(p.files?.allow, ['/etc', '/srv', '/opt']);
});

test('the baseline refuses each hostile declaration with its rule, and lets a plain one through', () => {
  const p = baseline.policy!;
  const hostile: [Parameters<typeof desired>[0][number], string][] = [
    [container('priv', { privileged: true }), 'containers.privileged'],
    [container('root-mount', { volumes: ['/:/host'] }), 'containers.mounts'],
    [container('sock', { volumes: ['/var/run/docker.sock:/var/run/docker.sock'] }), 'containers.mounts'],
    [container('sock2', { volumes: ['/run:/hostrun:ro'] }), 'containers.mounts'],
    [container('caps', { cap_add: ['SYS_ADMIN'] }), 'containers.cap-add'],
    [container('caps2', { cap_add: ['cap_sys_ptrace'] }), 'containers.cap-add'],
    [container('hostnet', { network: 'host' }), 'containers.host-network'],
    [container('dev', { devices: ['/dev/sda:/dev/sda'] }), 'containers.devices'],
    [file('/etc/sudoers.d/x'), 'files.denied-path'],
    [file('/etc/sudoers'), 'files.denied-path'],
    [file('/etc/ssh/sshd_config'), 'files.denied-path'],
    [file('/etc/systemd/system/evil.service'), 'files.denied-path'],
    [file('/root/.ssh/authorized_keys'), 'files.path'],
    [file('/srv/big', { content: 'x'.repeat(1024 * 1024 + 1) }), 'files.size'],
    [unit('root.service', { content: '[Service]\nExecStart=/bin/sh -c "id"\n' }), 'units.user'],
    [unit('root2.service', { content: '[Service]\nUser=root\nExecStart=/usr/bin/id\n' }), 'units.user'],
    [unit('plus.service', { content: '[Service]\nUser=app\nExecStartPre=+/usr/bin/id\nExecStart=/usr/bin/id\n' }), 'units.user'],
    [unit('tmp.service', { content: '[Service]\nUser=app\nExecStart=/tmp/x\n' }), 'units.exec'],
    [unit('ssh.service', { content: undefined, dropins: { 'x.conf': '[Service]\nExecStartPost=/usr/bin/id\n' } }), 'units.user'],
  ];
  for (const [resource, rule] of hostile) assert.deepEqual(rulesOf(p, [resource]), [rule], resource.id);
  const fine = [
    container('web', { image: 'nginx:1.25', volumes: ['/srv/www:/usr/share/nginx/html:ro', 'cache:/var/cache'], cap_add: ['NET_BIND_SERVICE'] }),
    file('/etc/app/app.toml'),
    file('/srv/www/index.html'),
    unit('app.service', { content: '[Service]\nUser=app\nExecStart=/usr/local/bin/app --serve\n' }),
    unit('app.timer', { content: '[Timer]\nOnCalendar=daily\n' }),
  ];
  assert.deepEqual(rulesOf(p, fine), []);
});

test('images: registry/repository globs on the normalized name, and digest pinning', () => {
  assert.deepEqual(imageRepository('nginx'), { repository: 'docker.io/library/nginx', digest: false });
  assert.deepEqual(imageRepository('acme/app:1'), { repository: 'docker.io/acme/app', digest: false });
  assert.deepEqual(imageRepository('localhost:5000/app:1'), { repository: 'localhost:5000/app', digest: false });
  assert.deepEqual(imageRepository(`ghcr.io/acme/app@sha256:${'a'.repeat(64)}`), { repository: 'ghcr.io/acme/app', digest: true });
  const p: Policy = { containers: { images: ['ghcr.io/acme/*'], requireDigest: true } };
  assert.deepEqual(rulesOf(p, [container('a', { image: 'docker.io/evil/miner:latest' })]), ['containers.image', 'containers.image-digest']);
  assert.deepEqual(rulesOf(p, [container('a', { image: `ghcr.io/acme/app@sha256:${'b'.repeat(64)}` })]), []);
  // A lookalike registry is not the allowed one.
  assert.deepEqual(rulesOf(p, [container('a', { image: `ghcr.io.evil.com/acme/app@sha256:${'b'.repeat(64)}` })]), ['containers.image']);
});

test('container user: root, 0 and unset are root', () => {
  const p: Policy = { containers: { allowRootUser: false } };
  assert.deepEqual(rulesOf(p, [container('a'), container('b', { user: '0:0' }), container('c', { user: 'root' }), container('d', { user: '1000:1000' })]), ['containers.user', 'containers.user', 'containers.user']);
});

test('mount and file deny semantics', () => {
  const deny = ['/', '/etc', '/root/**', '/var/run/docker.sock'];
  assert.equal(mountDenied('/', deny), '/');
  assert.equal(mountDenied('/etc', deny), '/etc');
  assert.equal(mountDenied('/etc/', deny), '/etc');
  assert.equal(mountDenied('/etc/nginx', deny), null);
  assert.equal(mountDenied('/root/.ssh', deny), '/root/**');
  assert.equal(mountDenied('/var/run', deny), '/var/run/docker.sock');
  assert.equal(mountDenied('/srv/../run/docker.sock', ['/run/docker.sock']), '/run/docker.sock');
  assert.equal(mountDenied('/srv/data', deny), null);
  assert.equal(fileDenied('/etc/sudoers.d/x', ['/etc/sudoers*']), '/etc/sudoers*');
  assert.equal(fileDenied('/etc/sudo.conf', ['/etc/sudoers*']), null);
});

test('counts: more resources of a kind than max is refused at the last one', () => {
  const p: Policy = { containers: { max: 1 }, files: { max: 5 } };
  const v = evaluatePolicy(p, desired([container('a'), container('b'), file('/etc/a')]));
  assert.deepEqual(v.map((x) => [x.rule, x.message]), [['containers.count', '2 containers declared; the limit is 1']]);
});

test('every rule name evaluate can emit is in the registry', () => {
  const emitted = new Set<string>();
  const all = { ...baseline.policy!, containers: { ...baseline.policy!.containers, images: ['x/*'], requireDigest: true, allowRootUser: false, max: 0 }, units: { ...baseline.policy!.units, names: ['x'], max: 0 }, files: { ...baseline.policy!.files, max: 0 } } as Policy;
  const resources = [
    container('a', { privileged: true, network: 'host', devices: ['/dev/x'], cap_add: ['SYS_ADMIN'], volumes: ['/:/h'] }),
    unit('b.service', { content: '[Service]\nExecStart=/tmp/x\n' }),
    file('/etc/shadow', { content: 'x'.repeat(2 * 1024 * 1024) }),
    file('/home/x'),
  ];
  for (const v of evaluatePolicy(all, desired(resources))) emitted.add(v.rule);
  assert.deepEqual([...emitted].sort(), [...policyRules].sort());
});

test('a repo policy narrows; each widening is named at its key', () => {
  const host = baseline.policy!;
  const repo = parsePolicyText('prod/policy.yaml', 'containers:\n  images: ["ghcr.io/acme/*"]\n  max: 10\nfiles:\n  allow: [/srv/app]\n  deny: [/srv/app/secret]\n');
  const ok = effectivePolicy(host, [repo]);
  assert.deepEqual(ok.issues, []);
  assert.deepEqual(ok.policy.containers?.images, ['ghcr.io/acme/*']);
  assert.equal(ok.policy.containers?.max, 10);
  assert.deepEqual(ok.policy.files?.allow, ['/srv/app']);
  assert.ok(ok.policy.files?.deny?.includes('/etc/sudoers*') && ok.policy.files.deny.includes('/srv/app/secret'));
  assert.equal(ok.policy.units?.allowRootUser, false, 'what the repo does not set is inherited');

  const wide = parsePolicyText('policy.yaml', 'containers:\n  allowPrivileged: true\n  capAdd: [NET_BIND_SERVICE, SYS_ADMIN]\n  max: 100000\nunits:\n  allowRootUser: true\nfiles:\n  allow: [/srv, /root]\n  maxSize: 2g\n');
  const bad = effectivePolicy(host, [wide]);
  assert.deepEqual(
    bad.issues.map((i) => `${i.file}:${i.line} ${i.code}`),
    ['policy.yaml:2 POLICY_WIDENED', 'policy.yaml:3 POLICY_WIDENED', 'policy.yaml:4 POLICY_WIDENED', 'policy.yaml:6 POLICY_WIDENED', 'policy.yaml:8 POLICY_WIDENED', 'policy.yaml:9 POLICY_WIDENED'],
  );
  assert.match(bad.issues[1]!.message, /containers\.capAdd: "SYS_ADMIN" is not within/);
  // The effective policy never widens even when the errors are ignored.
  assert.equal(bad.policy.containers?.allowPrivileged, false);
  assert.equal(bad.policy.containers?.capAdd?.includes('SYS_ADMIN'), false);
});

test('a malformed policy file is an error at its line', () => {
  const p = parsePolicyText('policy.yaml', 'containers:\n  privileged: false\n');
  assert.equal(p.policy, null);
  assert.equal(p.issues[0]!.code, 'UNKNOWN_KEY');
  assert.equal(p.issues[0]!.line, 2);
  assert.match(p.issues[0]!.message, /allowPrivileged/);
  assert.equal(narrowPolicy({}, {}).widenings.length, 0);
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gf-policy-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test('policy.yaml in the tree: not a resource file; read per layer of the host; the agent refuses a violation and a widening', async () => {
  const dir = tree({
    'policy.yaml': 'files:\n  deny: [/srv/locked]\n',
    'base.yaml': 'files:\n  /srv/locked/x:\n    content: a\n',
    'prod/policy.yaml': 'containers:\n  images: ["ghcr.io/acme/*"]\n',
    'prod/web-01/host.yaml': '',
    'prod/web-01/web.yaml': 'containers:\n  web:\n    image: nginx:1\n',
    'tags/x/policy.yaml': 'containers:\n  allowPrivileged: true\n',
  });
  assert.deepEqual((await validateTree(dir)).issues, []);
  const state = await loadDesiredState(dir, { host: 'web-01' });
  const files = await readRepoPolicies(dir, state.layers);
  assert.deepEqual(files.map((f) => f.file), ['policy.yaml', 'prod/policy.yaml']);

  const hostFile = join(tree({}), 'host-policy.yaml');
  writeFileSync(hostFile, baselineText);
  const policy = new HostPolicy({ path: hostFile, filesAllow: ['/etc', '/srv', '/opt'] });
  const refused = await policy.admit(state, dir).then(() => null, (e: unknown) => e);
  assert.ok(refused instanceof PolicyViolationError);
  assert.deepEqual(refused.violations.map((v) => `${v.resource} ${v.file}:${v.line} ${v.rule}`), ['file//srv/locked/x base.yaml:2 files.denied-path', 'container/web prod/web-01/web.yaml:2 containers.image']);
  assert.match(refused.message, /container\/web \(prod\/web-01\/web\.yaml:2\) breaks containers\.image/);

  // A tag directory that widens: the host carrying the tag is refused with POLICY_WIDENED.
  writeFileSync(join(dir, 'prod/web-01/host.yaml'), 'tags: [x]\n');
  writeFileSync(join(dir, 'base.yaml'), 'files: {}\n');
  writeFileSync(join(dir, 'prod/web-01/web.yaml'), 'containers:\n  web:\n    image: ghcr.io/acme/web:1\n');
  const tagged = await loadDesiredState(dir, { host: 'web-01' });
  await assert.rejects(policy.admit(tagged, dir), (e: Error & { code?: string }) => e.code === 'POLICY_WIDENED' && /tags\/x\/policy\.yaml:2:\d+ +POLICY_WIDENED/.test(e.message));
});

test('the host policy file: re-read on change (new key), missing means only files.allow, invalid refuses', async () => {
  const dir = tree({});
  const path = join(dir, 'policy.yaml');
  const policy = new HostPolicy({ path, filesAllow: ['/srv'] });
  const k0 = policy.key();
  assert.deepEqual(policy.current(), { policy: { files: { allow: ['/srv'] } }, present: false });
  writeFileSync(path, 'containers:\n  allowPrivileged: false\nfiles:\n  allow: [/srv/app, /etc]\n');
  const k1 = policy.key();
  assert.notEqual(k1, k0);
  // The agent config's files.allow stays the fence: /etc is not in it.
  assert.deepEqual(policy.current().policy.files?.allow, ['/srv/app']);
  assert.equal(policy.key(), k1, 'the same text, the same key');
  writeFileSync(path, 'containers: [\n');
  assert.notEqual(policy.key(), k1);
  assert.throws(() => policy.current(), (e: Error & { code?: string }) => e.code === 'POLICY_INVALID' && e.message.includes(path));
  const s = desired([container('a')]);
  await assert.rejects(policy.admit(s, dir), (e: Error & { code?: string }) => e.code === 'POLICY_INVALID');
});

test('docs/policy.md: every YAML example is a valid policy, and its baseline is packaging/policy.yaml', async () => {
  const doc = readFileSync(join(root, 'docs/policy.md'), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 3);
  for (const block of blocks) assert.deepEqual(parsePolicyText('docs/policy.md', block).issues, [], block);
  const documented = blocks.find((b) => b.startsWith('containers:\n  images: ["*"]'));
  assert.deepEqual(parsePolicyText('docs', documented!).policy, baseline.policy);
  // Every rule is documented by its name.
  for (const rule of policyRules) assert.ok(doc.includes(`\`${rule}\``), `docs/policy.md does not name ${rule}`);
});
