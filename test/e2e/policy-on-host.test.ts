// The host policy on a real systemd host with the real Docker engine (issue
// 14): the agent (from the sources) inside an nspawn host under the shipped
// baseline, /etc/gitfleet/policy.yaml, narrowed to the local test registry.
// A hostile commit per rule family is refused as a whole — nothing of it
// applied, not even its harmless parts — and named with file:line and rule,
// while a compliant commit in the same repo applies. A repo policy.yaml
// narrows; one that widens is refused. An edit of the host policy is picked up
// by the next reconcile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';
import { WorkRepo, missingGitServer } from '../harness/git-servers.ts';
import { DockerTestHarness, TEST_IMAGE, dockerMissingReason } from '../harness/docker.ts';

const root = resolve(import.meta.dirname, '../..');
const docker = new DockerTestHarness();
const name = `gfpol${process.pid.toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'gf-policy-host-'));
let host: SystemdHost | null = null;
let repo: WorkRepo | null = null;
let missing: string | null = null;

const web = docker.name('web');
const appConf = `/etc/${name}/app.conf`;
const base = { image: TEST_IMAGE, command: ['sleep', '3600'], init: true, network: 'none', labels: docker.labels, stop_grace_period: '1s' };
const unitName = `${name}-app.service`;
const compliant = (version: string) => ({
  containers: { [web]: base },
  units: { [unitName]: { content: '[Service]\nUser=nobody\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n', enabled: true, state: 'running' } },
  files: { [appConf]: { content: `version ${version}\n` } },
});

// The shipped baseline, with images narrowed to the local test images (no registry is reachable here).
const hostPolicy = readFileSync(join(root, 'packaging/policy.yaml'), 'utf8').replace('images: ["*"]', 'images: ["docker.io/local/*"]');

function commit(resources: object, message: string, extra: Record<string, string | null> = {}): string {
  const id = repo!.commit({ [`${name}/host.yaml`]: '', [`${name}/apps.yaml`]: stringify(resources), ...extra }, message);
  repo!.push();
  return id;
}

async function sh(...argv: string[]): Promise<string> {
  return (await host!.exec(argv)).stdout.trim();
}

interface Once {
  code: number;
  outcome: { result: string; converged: boolean; revision: string | null; reason?: string; message?: string };
  stderr: string;
}

async function agentOnce(trigger: string[] = []): Promise<Once> {
  const argv = ['node', '--import', 'file:///opt/gitfleet/node_modules/tsx/dist/loader.mjs', '/opt/gitfleet/cli/main.ts', 'agent', '--once', '--json', '--repo', '/srv/fleet.git', '--host', name, '--state-dir', '/var/lib/gitfleet', ...trigger];
  const r = await host!.exec(argv, { timeoutMs: 120_000 });
  let parsed: Omit<Once, 'code' | 'stderr'>;
  try {
    parsed = JSON.parse(r.stdout) as Omit<Once, 'code' | 'stderr'>;
  } catch {
    throw new Error(`agent --once printed no JSON (exit ${r.code}): ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 2000)}`);
  }
  return { code: r.code, stderr: r.stderr, ...parsed };
}

async function writeHostPolicy(text: string): Promise<void> {
  const r = await host!.exec(['sh', '-c', 'mkdir -p /etc/gitfleet && cat > /etc/gitfleet/policy.yaml'], { input: text });
  assert.equal(r.code, 0, r.stderr);
}

before(async () => {
  missing = systemdHostsAvailable() ?? (await dockerMissingReason()) ?? missingGitServer('daemon');
  if (missing) return;
  repo = new WorkRepo(join(dir, 'fleet.git'));
  commit(compliant('1'), 'compliant');
  host = await bootHost(name, { bindDocker: true, binds: [{ host: repo.bare, guest: '/srv/fleet.git', readOnly: true }] });
  await writeHostPolicy(hostPolicy);
});

after(async () => {
  await host?.poweroff();
  await docker.cleanup();
  repo?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

let webId = '';

test('a compliant commit applies under the baseline host policy', async (t) => {
  if (!requireComponent(t, 'a systemd host, Docker and git', missing)) return;
  const once = await agentOnce();
  assert.equal(once.outcome.result, 'Succeeded', `${once.outcome.message ?? ''} ${once.stderr.slice(-2000)}`);
  assert.equal(await sh('cat', appConf), 'version 1');
  assert.equal(await sh('systemctl', 'is-active', unitName), 'active');
  const info = await docker.inspect(web);
  assert.equal(info.State.Running, true);
  webId = info.Id;
});

const evil = docker.name('evil');
const hostile: { family: string; rule: string; resources: Record<string, Record<string, unknown>>; applied: () => Promise<boolean> }[] = [
  { family: 'privileged', rule: 'containers.privileged', resources: { containers: { [evil]: { ...base, privileged: true } } }, applied: () => docker.exists(evil) },
  { family: '/:/host', rule: 'containers.mounts', resources: { containers: { [evil]: { ...base, volumes: ['/:/host'] } } }, applied: () => docker.exists(evil) },
  { family: 'docker.sock', rule: 'containers.mounts', resources: { containers: { [evil]: { ...base, volumes: ['/var/run/docker.sock:/var/run/docker.sock'] } } }, applied: () => docker.exists(evil) },
  { family: 'cap_add SYS_ADMIN', rule: 'containers.cap-add', resources: { containers: { [evil]: { ...base, cap_add: ['SYS_ADMIN'] } } }, applied: () => docker.exists(evil) },
  { family: 'registry not allowed', rule: 'containers.image', resources: { containers: { [evil]: { ...base, image: 'registry.evil.example/miner:1' } } }, applied: () => docker.exists(evil) },
  {
    family: 'sudoers file',
    rule: 'files.denied-path',
    resources: { files: { [`/etc/sudoers.d/${name}`]: { content: 'ALL ALL=(ALL) NOPASSWD: ALL\n', mode: '0440' } } },
    applied: async () => (await host!.exec(['test', '-e', `/etc/sudoers.d/${name}`])).code === 0,
  },
  {
    family: 'root unit',
    rule: 'units.user',
    resources: { units: { [`${name}-evil.service`]: { content: '[Service]\nExecStart=/bin/sh -c "id > /tmp/pwned; sleep infinity"\n[Install]\nWantedBy=multi-user.target\n', enabled: true, state: 'running' } } },
    applied: async () => (await host!.exec(['test', '-e', `/etc/systemd/system/${name}-evil.service`])).code === 0,
  },
];

for (const h of hostile) {
  test(`hostile commit refused as a whole: ${h.family} (${h.rule})`, async (t) => {
    if (!requireComponent(t, 'a systemd host, Docker and git', missing)) return;
    // The harmless part of the commit (a new app.conf) must not be applied either.
    const merged = compliant(`evil-${h.family}`) as Record<string, Record<string, unknown>>;
    for (const [kind, entries] of Object.entries(h.resources)) merged[kind] = { ...merged[kind], ...entries };
    const revision = commit(merged, `hostile: ${h.family}`);
    const once = await agentOnce();
    assert.equal(once.outcome.result, 'Refused', once.outcome.message);
    assert.notEqual(once.code, 0);
    assert.equal(once.outcome.reason, 'POLICY_VIOLATION');
    assert.match(once.outcome.message ?? '', new RegExp(`revision ${revision.slice(0, 12)} refused`));
    // The resource, its file:line in the repo, and the rule.
    assert.match(once.outcome.message ?? '', new RegExp(`\\(${name}/apps\\.yaml:\\d+\\) breaks ${h.rule.replace('.', '\\.')}`));
    assert.equal(await h.applied(), false, `${h.family}: something of the refused commit was applied`);
    assert.equal(await sh('cat', appConf), 'version 1', 'the harmless part of the refused commit was applied');
    assert.equal((await docker.inspect(web)).Id, webId, 'the running container was touched');
    assert.equal(await sh('systemctl', 'is-active', unitName), 'active');
  });
}

test('after the refusals, a compliant commit in the same repo applies; the root unit never ran', async (t) => {
  if (!requireComponent(t, 'a systemd host, Docker and git', missing)) return;
  commit(compliant('2'), 'compliant again');
  const once = await agentOnce();
  assert.equal(once.outcome.result, 'Succeeded', once.outcome.message);
  assert.equal(await sh('cat', appConf), 'version 2');
  assert.equal((await docker.inspect(web)).Id, webId);
  assert.equal((await host!.exec(['test', '-e', '/tmp/pwned'])).code, 1, 'the root unit never ran');
});

test('a repo policy.yaml narrows the host policy; one that widens is refused', async (t) => {
  if (!requireComponent(t, 'a systemd host, Docker and git', missing)) return;
  // Narrowing: the repo denies a path the host allows.
  const narrowing = `files:\n  deny: ["/etc/${name}/secret*"]\n`;
  const withSecret = compliant('3');
  (withSecret.files as Record<string, unknown>)[`/etc/${name}/secret.key`] = { content: 'k\n' };
  commit(withSecret, 'narrowed and violating', { 'policy.yaml': narrowing });
  const refused = await agentOnce();
  assert.equal(refused.outcome.result, 'Refused');
  assert.equal(refused.outcome.reason, 'POLICY_VIOLATION');
  assert.match(refused.outcome.message ?? '', /files\.denied-path/);
  assert.equal(await sh('cat', appConf), 'version 2');
  commit(compliant('3'), 'narrowed and compliant', { 'policy.yaml': narrowing });
  assert.equal((await agentOnce()).outcome.result, 'Succeeded');
  assert.equal(await sh('cat', appConf), 'version 3');

  // Widening: the repo tries to allow privileged containers; refused even though nothing uses it.
  commit(compliant('4'), 'widening', { 'policy.yaml': 'containers:\n  allowPrivileged: true\n' });
  const wide = await agentOnce();
  assert.equal(wide.outcome.result, 'Refused');
  assert.equal(wide.outcome.reason, 'POLICY_WIDENED');
  assert.match(wide.outcome.message ?? '', /policy\.yaml:2:\d+ +POLICY_WIDENED +containers\.allowPrivileged: true widens/);
  assert.equal(await sh('cat', appConf), 'version 3');
});

test('an edit of the host policy decides the next reconcile', async (t) => {
  if (!requireComponent(t, 'a systemd host, Docker and git', missing)) return;
  commit(compliant('5'), 'compliant', { 'policy.yaml': null });
  // The host administrator forbids this unit's name pattern: the next reconcile refuses.
  await writeHostPolicy(hostPolicy.replace('names: ["*"]', 'names: ["ssh*"]'));
  const refused = await agentOnce();
  assert.equal(refused.outcome.result, 'Refused');
  assert.match(refused.outcome.message ?? '', /breaks units\.name/);
  assert.equal(await sh('cat', appConf), 'version 3');
  await writeHostPolicy(hostPolicy);
  assert.equal((await agentOnce()).outcome.result, 'Succeeded');
  assert.equal(await sh('cat', appConf), 'version 5');
});
