// `gitfleet validate --policy FILE` and `gitfleet policy show` as a fleet
// repo's CI and an operator run them: file:line errors with the rule, --json,
// --host/--tag selection, a widening repo policy, exit codes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeTree } from './repo-fixture.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'gitfleet-policy-cli-'));
const tree = join(dir, 'fleet');
const baseline = join(repoRoot, 'packaging/policy.yaml');
writeTree(tree, {
  'base.yaml': 'files:\n  /etc/app/app.conf:\n    content: "x"\n',
  'prod/policy.yaml': 'containers:\n  images: ["ghcr.io/acme/*"]\n',
  'prod/web-01/host.yaml': 'tags: [edge]\n',
  'prod/web-01/web.yaml': 'containers:\n  web:\n    image: nginx:1\n    privileged: true\n',
  'prod/db-01/host.yaml': '',
  'prod/db-01/db.yaml': 'files:\n  /etc/sudoers.d/ops:\n    content: "ops ALL=(ALL) ALL"\n',
  'lab/lab-01/host.yaml': '',
  'tags/edge/edge.yaml': 'files: {}\n',
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function gitfleet(args: string[]): Promise<Result> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', resolve(repoRoot, 'cli/main.ts'), ...args], { cwd: repoRoot }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

test('validate --policy: every violation with file:line, rule, resource and hosts; exit 1', async () => {
  const r = await gitfleet(['validate', '--policy', baseline, tree]);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, -1), [
    'prod/db-01/db.yaml:2:1  POLICY_VIOLATION  file//etc/sudoers.d/ops breaks files.denied-path: /etc/sudoers.d/ops is a denied path (/etc/sudoers*)  (hosts: db-01)',
    'prod/web-01/web.yaml:2:1  POLICY_VIOLATION  container/web breaks containers.image: image nginx:1 (docker.io/library/nginx) is not from an allowed registry/repository (ghcr.io/acme/*)  (hosts: web-01)',
    'prod/web-01/web.yaml:2:1  POLICY_VIOLATION  container/web breaks containers.privileged: privileged: true is not allowed  (hosts: web-01)',
  ]);
  assert.match(lines.at(-1)!, /^3 error\(s\) \(3 host\(s\) checked against /);

  const json = await gitfleet(['validate', '--policy', baseline, '--json', tree]);
  assert.equal(json.code, 1);
  const issues = JSON.parse(json.stdout) as { file: string; line: number; code: string; rule?: string; resource?: string; hosts?: string[] }[];
  assert.deepEqual(issues.map((i) => [i.file, i.line, i.code, i.rule, i.resource, i.hosts]), [
    ['prod/db-01/db.yaml', 2, 'POLICY_VIOLATION', 'files.denied-path', 'file//etc/sudoers.d/ops', ['db-01']],
    ['prod/web-01/web.yaml', 2, 'POLICY_VIOLATION', 'containers.image', 'container/web', ['web-01']],
    ['prod/web-01/web.yaml', 2, 'POLICY_VIOLATION', 'containers.privileged', 'container/web', ['web-01']],
  ]);
});

test('validate --policy --host / --tag select the hosts; a compliant selection exits 0', async () => {
  const lab = await gitfleet(['validate', '--policy', baseline, '--host', 'lab-01', tree]);
  assert.equal(lab.code, 0, lab.stdout + lab.stderr);
  assert.match(lab.stdout, /^ok: 1 host\(s\) comply/);
  const edge = await gitfleet(['validate', '--policy', baseline, '--tag', 'edge', '--json', tree]);
  assert.equal(edge.code, 1);
  assert.deepEqual((JSON.parse(edge.stdout) as { hosts: string[] }[]).flatMap((i) => i.hosts), ['web-01', 'web-01']);
  const none = await gitfleet(['validate', '--policy', baseline, '--host', 'nope', tree]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no host "nope"/);
});

test('validate --policy: a repo policy.yaml that widens is an error at its line', async () => {
  const wide = join(dir, 'wide');
  writeTree(wide, { 'policy.yaml': 'units:\n  allowRootUser: true\n', 'h/host.yaml': '' });
  const r = await gitfleet(['validate', '--policy', baseline, wide]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^policy\.yaml:2:\d+ {2}POLICY_WIDENED {2}units\.allowRootUser: true widens the policy above \(false\)$/m);
});

test('usage errors exit 2 with one line: an unreadable or malformed policy, --host without --policy', async () => {
  const missing = await gitfleet(['validate', '--policy', join(dir, 'absent.yaml'), tree]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read policy file .*absent\.yaml: ENOENT/);
  const badFile = join(dir, 'bad.yaml');
  writeFileSync(badFile, 'containers:\n  privileged: false\n');
  const bad = await gitfleet(['validate', '--policy', badFile, tree]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad\.yaml:2:3 +UNKNOWN_KEY +unknown key "privileged"/);
  const noPolicy = await gitfleet(['validate', '--host', 'web-01', tree]);
  assert.equal(noPolicy.code, 2);
});

test('policy show --host: the effective policy and where it was narrowed; --json', async () => {
  const r = await gitfleet(['policy', 'show', '--host', 'web-01', '--policy', baseline, tree]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^# effective host policy of web-01: ${baseline.replace(/[.]/g, '\\.')}, narrowed by prod/policy\\.yaml$`, 'm'));
  assert.match(r.stdout, /images:\n\s+- ghcr\.io\/acme\/\*/);
  const json = await gitfleet(['policy', 'show', '--host', 'db-01', '--policy', baseline, '--json', tree]);
  const shown = JSON.parse(json.stdout) as { policy: { containers: { images: string[] }; files: { allow: string[] } }; narrowedBy: string[] };
  assert.deepEqual(shown.narrowedBy, ['prod/policy.yaml']);
  assert.deepEqual(shown.policy.containers.images, ['ghcr.io/acme/*']);
  assert.deepEqual(shown.policy.files.allow, ['/etc', '/srv', '/opt']);
  const lab = await gitfleet(['policy', 'show', '--host', 'lab-01', '--policy', baseline, '--json', tree]);
  assert.deepEqual((JSON.parse(lab.stdout) as { policy: unknown }).policy, JSON.parse(JSON.stringify((await import('yaml')).parse(readFileSync(baseline, 'utf8')))));
  const noHost = await gitfleet(['policy', 'show', tree]);
  assert.equal(noHost.code, 2);
  assert.match(noHost.stderr, /--host ID is required/);
});

test('the commands of docs/policy.md work as printed (from the project directory)', async () => {
  const doc = readFileSync(join(repoRoot, 'docs/policy.md'), 'utf8');
  const commands = [...doc.matchAll(/^npx gitfleet (.+)$/gm)].map((m) => m[1]!.split(' '));
  assert.equal(commands.length, 2);
  const [validate, show] = await Promise.all(commands.map((args) => gitfleet(args)));
  // As the page says: the example fleet's host-network containers break the baseline, nothing else does.
  assert.equal(validate!.code, 1, validate!.stderr);
  const errors = validate!.stdout.trim().split('\n').slice(0, -1);
  assert.ok(errors.length > 0 && errors.every((l) => / POLICY_VIOLATION {2}container\/\S+ breaks containers\.host-network: /.test(l)), validate!.stdout);
  assert.equal(show!.code, 0, show!.stderr);
  assert.match(show!.stdout, /^# effective host policy of web-01: packaging\/policy\.yaml\n/);
});

test('plain validate checks the format of every policy.yaml in the tree, with its position', async () => {
  const bad = join(dir, 'bad-repo-policy');
  writeTree(bad, { 'prod/policy.yaml': 'containers:\n  allowPriviledged: false\n', 'prod/h/host.yaml': '' });
  const r = await gitfleet(['validate', bad]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^prod\/policy\.yaml:2:3 {2}UNKNOWN_KEY {2}unknown key "allowPriviledged" in "containers" — did you mean "allowPrivileged"\?$/m);
  const ok = await gitfleet(['validate', tree]);
  assert.equal(ok.code, 0, ok.stdout);
});
