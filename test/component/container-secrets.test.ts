// A container's `secrets:` (docs/secrets.md): evaluated into 0400 file
// resources under /var/lib/gitfleet/secrets/CONTAINER/ that notify the
// container, plus read-only bind mounts; never in the container's spec (env,
// hash); the reserved directory refuses native files; the baseline host policy
// accepts a container's own secrets and refuses another container mounting
// them; from an encrypted layer, render and plan (text and JSON) show no value.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { stringify } from 'yaml';
import { parsePolicyText } from '../../repo/policy/policy-files.ts';
import { createIdentityFile } from '../../repo/secrets/age-key.ts';
import { loadDesiredState } from '../../repo/tree/index.ts';
import { admitDesiredState } from '../../agent/admission.ts';
import { evaluatePolicy } from '../../shared/policy/index.ts';
import { plan } from '../../agent/engine/planner.ts';
import { ctx, desired, file, inventory, live, liveFile } from '../helpers/desired.ts';
import { issuesOf, makeTree } from './repo-fixture.ts';

const root = resolve(import.meta.dirname, '../..');
const baseline = parsePolicyText('packaging/policy.yaml', readFileSync(join(root, 'packaging/policy.yaml'), 'utf8')).policy!;
const dir = mkdtempSync(join(tmpdir(), 'gf-csecrets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const apps = `vars:
  db_password: pw-Plain-Text-123
containers:
  api:
    image: docker.io/library/busybox:1
    user: "1000:1000"
    volumes: ["/srv/api:/data"]
    secrets:
      db_password: \${db_password}
      tls.key:
        content: "-----KEY-----"
        target: /etc/api/tls.key
        uid: 1000
        gid: "1000"
        mode: "0440"
      rel:
        content: x1234
        target: sub/rel
`;

test('secrets become 0400 file resources that notify the container, and read-only mounts; the spec keeps no value', async (t) => {
  const tree = makeTree(t, { 'h1/host.yaml': '', 'h1/apps.yaml': apps });
  const s = await loadDesiredState(tree, { host: 'h1' });
  const d = '/var/lib/gitfleet/secrets/api';
  assert.deepEqual(s.resources.map((r) => r.id), [`file/${d}/db_password`, `file/${d}/rel`, `file/${d}/tls.key`, 'container/api']);
  const files = Object.fromEntries(s.resources.filter((r) => r.kind === 'file').map((r) => [r.name, r.spec]));
  assert.deepEqual(files[`${d}/db_password`], { content: 'pw-Plain-Text-123', mode: '0400', notify: ['container/api'] });
  assert.deepEqual(files[`${d}/tls.key`], { content: '-----KEY-----', mode: '0440', owner: '1000', group: '1000', notify: ['container/api'] });
  const api = s.resources.find((r) => r.id === 'container/api')!;
  assert.deepEqual(api.spec, {
    image: 'docker.io/library/busybox:1',
    user: '1000:1000',
    volumes: ['/srv/api:/data', `${d}/db_password:/run/secrets/db_password:ro`, `${d}/tls.key:/etc/api/tls.key:ro`, `${d}/rel:/run/secrets/sub/rel:ro`],
    depends_on: [`file/${d}/db_password`, `file/${d}/tls.key`, `file/${d}/rel`],
  });
  assert.deepEqual(api.dependsOn, (api.spec as { depends_on: string[] }).depends_on);
  assert.ok(!JSON.stringify(api).includes('pw-Plain'), 'the value is only in the file resource');
  // A host without a policy file enforces only files.allow: the reserved directory is part of the container.
  admitDesiredState(s, ['/etc', '/srv', '/opt']);
});

test('the baseline policy accepts a container\'s own secrets and refuses another container mounting them', async (t) => {
  const tree = makeTree(t, {
    'h1/host.yaml': '',
    'h1/apps.yaml': `${apps}  thief:\n    image: docker.io/library/busybox:1\n    volumes: ["/var/lib/gitfleet/secrets/api/db_password:/x:ro"]\n`,
  });
  const s = await loadDesiredState(tree, { host: 'h1' });
  const violations = evaluatePolicy(baseline, s).map((v) => `${v.resource} ${v.rule}`);
  assert.deepEqual(violations, ['container/thief containers.mounts']);
  // files.deny still applies: a host can turn container secrets off.
  const off = { ...baseline, files: { ...baseline.files, deny: [...(baseline.files?.deny ?? []), '/var/lib/gitfleet/secrets'] } };
  assert.deepEqual(evaluatePolicy(off, s).map((v) => v.rule).filter((r) => r === 'files.denied-path').length, 3);
});

test('a native file in the reserved directory is refused; so is a target that is no usable path', async (t) => {
  const tree = makeTree(t, {
    'h1/host.yaml': '',
    'h1/apps.yaml': 'files:\n  /var/lib/gitfleet/secrets/api/db:\n    content: x\ncontainers:\n  api:\n    image: x:1\n    secrets:\n      a:\n        content: y\n        target: /run/../etc/passwd\n      b:\n        content: y\n        target: "/x:/y"\n      c:\n        content: y\n        target: /data\n    volumes: ["/srv/d:/data"]\n',
  });
  const issues = await issuesOf(loadDesiredState(tree, { host: 'h1' }));
  const lines = issues.map((i) => `${i.code} ${i.message}`);
  assert.equal(lines.length, 4, lines.join('\n'));
  assert.match(lines[3]!, /^INVALID_VALUE container "api": secret "c" target "\/data" .*another volume or secret is mounted there/);
  assert.match(lines[0]!, /^INVALID_PATH \/var\/lib\/gitfleet\/secrets\/api\/db is inside \/var\/lib\/gitfleet\/secrets, which is reserved/);
  assert.match(lines[1]!, /^INVALID_VALUE container "api": secret "a" target "\/run\/\.\.\/etc\/passwd" .*'\.\.'/);
  assert.match(lines[2]!, /^INVALID_VALUE container "api": secret "b" target .*':' or ','/);
});

test('bad entries are schema errors: a name that is no path component, an unknown key, a numeric mode', async (t) => {
  const tree = makeTree(t, {
    'h1/host.yaml': '',
    'h1/apps.yaml': 'containers:\n  api:\n    image: x:1\n    secrets:\n      ../up: x\n      b: { content: y, file: ./b }\n      c: { content: y, mode: 0400 }\n',
  });
  const issues = await issuesOf(loadDesiredState(tree, { host: 'h1' }));
  assert.equal(issues.length, 3, issues.map((i) => i.message).join('\n'));
});

function gitfleet(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('from an encrypted layer: render and plan (text and JSON) never show the value; the container stays not secret', async () => {
  const fleet = join(dir, 'fleet');
  const key = join(dir, 'h.key');
  const recipient = await createIdentityFile(key);
  const value = 'pw-Cs7Yq2Lm9Xw4Rt';
  mkdirSync(join(fleet, 'lab', 'cs-1'), { recursive: true });
  writeFileSync(join(fleet, 'lab', 'cs-1', 'host.yaml'), '{}\n');
  writeFileSync(join(fleet, 'lab', 'apps.yaml'), stringify({ containers: { 'cs-api': { image: 'docker.io/library/busybox:1', secrets: { db: '${db_password}' } } } }));
  writeFileSync(join(fleet, 'lab', 'db.yaml'), stringify({ vars: { db_password: value } }));
  const enc = gitfleet(['secret', 'encrypt', '--recipient', recipient, join(fleet, 'lab', 'db.yaml')]);
  assert.equal(enc.code, 0, enc.stderr);
  rmSync(join(fleet, 'lab', 'db.yaml'));
  for (const extra of [[], ['--json']]) {
    const r = gitfleet(['render', '--repo', fleet, '--host', 'cs-1', '--identity', key, ...extra]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(value) && r.stdout.includes('«secret»'), r.stdout);
    assert.ok(r.stdout.includes('/var/lib/gitfleet/secrets/cs-api/db:/run/secrets/db:ro'), r.stdout);
    const revealed = gitfleet(['render', '--repo', fleet, '--host', 'cs-1', '--identity', key, '--reveal', ...extra]);
    assert.ok(revealed.stdout.includes(value), 'the check above can fail: --reveal shows it');
  }
  const json = gitfleet(['render', '--repo', fleet, '--host', 'cs-1', '--identity', key, '--json']);
  const resources = (JSON.parse(json.stdout) as { resources: { id: string; secret?: boolean }[] }).resources;
  assert.equal(resources.find((r) => r.id === 'file//var/lib/gitfleet/secrets/cs-api/db')?.secret, true);
  assert.equal(resources.find((r) => r.id === 'container/cs-api')?.secret, undefined, 'the container holds only the path');
  for (const extra of [[], ['--json']]) {
    const planned = gitfleet(['plan', '--repo', fleet, '--host', 'cs-1', '--state-dir', join(dir, 'plan-state'), '--files-allow', '/etc', ...extra], { GITFLEET_AGE_IDENTITY_FILE: key, GITFLEET_POLICY: join(dir, 'no-policy.yaml') });
    assert.ok(planned.stdout.includes('file.write'), planned.stdout + planned.stderr);
    assert.ok(!planned.stdout.includes(value) && !planned.stderr.includes(value), `plan ${extra.join('')} shows the secret`);
  }
});

test('an owner or group given by id matches the live file by id, whatever name the host has for it', () => {
  const path = '/var/lib/gitfleet/secrets/api/k';
  const want = file(path, { content: 'v', mode: '0400', owner: '65534', group: '65534' });
  const named = liveFile(path, 'v', { mode: '0400', owner: 'nobody', group: 'nogroup', uid: 65534, gid: 65534 });
  assert.deepEqual(plan(desired([want]), live({ files: [named] }), inventory([]), ctx).steps, []);
  const other = liveFile(path, 'v', { mode: '0400', owner: 'root', group: 'root', uid: 0, gid: 0 });
  assert.deepEqual(plan(desired([want]), live({ files: [other] }), inventory([]), ctx).steps.map((s) => s.type), ['file.attributes']);
});
