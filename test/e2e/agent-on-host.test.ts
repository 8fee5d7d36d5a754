// The real agent (the bundled CLI) inside a booted systemd host, converging
// units and files from a real Git repository: first converge, no-op, every
// kind of hand drift, a unit that fails (rolled back), prune, and an agent
// killed mid-apply.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';
import { WorkRepo, missingGitServer } from '../harness/git-servers.ts';

const root = resolve(import.meta.dirname, '../..');
const name = `gfa${process.pid.toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'gf-onhost-'));
let host: SystemdHost | null = null;
let repo: WorkRepo | null = null;
let missing: string | null = null;

const hello = '[Unit]\nDescription=gitfleet test hello\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n';
const worker = '[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n';
const units = { 'gf-hello.service': { content: hello }, 'gf-worker.service': { content: worker, dropins: { '10-env.conf': '[Service]\nEnvironment=MODE=test\n' } } };
const files = {
  '/etc/gf-test/app.conf': { content: 'port = 8080\n', mode: '0640', group: 'adm', notify: ['unit/gf-hello.service'] },
  '/srv/gf-test/data.txt': { content: 'data\n' },
};

function commit(resources: object, message: string): string {
  const id = repo!.commit({ [`${name}/host.yaml`]: '', [`${name}/apps.yaml`]: stringify(resources) }, message);
  repo!.push();
  return id;
}

async function sh(...argv: string[]): Promise<string> {
  const r = await host!.exec(argv);
  return r.stdout.trim();
}

interface Once {
  code: number;
  outcome: { result: string; converged: boolean; revision: string | null; reason?: string };
  status: { resources: { id: string; sync: string }[]; attempts: { result: string; intended: string[]; driftCorrected: string[] }[]; lastAppliedRevision: string | null };
  stderr: string;
}

async function agentOnce(): Promise<Once> {
  const r = await host!.exec(['node', '/opt/gitfleet/bin/gitfleet.mjs', 'agent', '--once', '--json', '--repo', '/srv/fleet.git', '--host', name, '--state-dir', '/var/lib/gitfleet'], { timeoutMs: 120_000 });
  const parsed = JSON.parse(r.stdout) as Omit<Once, 'code' | 'stderr'>;
  return { code: r.code, stderr: r.stderr, ...parsed };
}

before(async () => {
  missing = systemdHostsAvailable() ?? missingGitServer('daemon');
  if (missing) return;
  if (!existsSync(join(root, 'dist', 'gitfleet.mjs'))) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root });
  repo = new WorkRepo(join(dir, 'fleet.git'));
  commit({ units, files }, 'first');
  host = await bootHost(name, { bindDocker: false, binds: [{ host: repo.bare, guest: '/srv/fleet.git', readOnly: true }] });
});

after(async () => {
  await host?.poweroff();
  repo?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('first converge of units and files on a real systemd host', async (t) => {
  if (!requireComponent(t, 'a systemd host and git', missing)) return;
  const once = await agentOnce();
  assert.equal(once.code, 0, once.stderr);
  assert.equal(once.outcome.result, 'Succeeded');
  assert.equal(await sh('systemctl', 'is-active', 'gf-hello.service'), 'active');
  assert.equal(await sh('systemctl', 'is-enabled', 'gf-worker.service'), 'enabled');
  assert.equal(await sh('systemctl', 'show', '-p', 'Environment', '--value', 'gf-worker.service'), 'MODE=test');
  assert.equal(await sh('stat', '-c', '%a %U %G', '/etc/gf-test/app.conf'), '640 root adm');
  assert.equal(await sh('cat', '/srv/gf-test/data.txt'), 'data');
  assert.match(await sh('head', '-1', '/etc/systemd/system/gf-hello.service'), /Managed by gitfleet/);
});

test('a no-op pass changes nothing', async (t) => {
  if (!requireComponent(t, 'a systemd host and git', missing)) return;
  const pid = await sh('systemctl', 'show', '-p', 'MainPID', '--value', 'gf-hello.service');
  const once = await agentOnce();
  assert.equal(once.code, 0);
  assert.equal(once.outcome.result, 'NoChange');
  assert.equal(await sh('systemctl', 'show', '-p', 'MainPID', '--value', 'gf-hello.service'), pid, 'not restarted');
});

test('every kind of hand drift is corrected', async (t) => {
  if (!requireComponent(t, 'a systemd host and git', missing)) return;
  await sh('sh', '-c', 'echo "# edited" >> /etc/systemd/system/gf-hello.service');
  await sh('systemctl', 'stop', 'gf-worker.service');
  await sh('systemctl', 'disable', 'gf-worker.service');
  await sh('chmod', '0777', '/etc/gf-test/app.conf');
  await sh('rm', '/srv/gf-test/data.txt');
  await sh('rm', '/etc/systemd/system/gf-worker.service.d/10-env.conf');
  const once = await agentOnce();
  assert.equal(once.code, 0, JSON.stringify(once.outcome));
  assert.equal(once.status.attempts[0]?.intended.length, 0);
  assert.ok((once.status.attempts[0]?.driftCorrected.length ?? 0) >= 5, once.status.attempts[0]?.driftCorrected.join('\n'));
  assert.doesNotMatch(await sh('cat', '/etc/systemd/system/gf-hello.service'), /# edited/);
  assert.equal(await sh('systemctl', 'is-active', 'gf-worker.service'), 'active');
  assert.equal(await sh('systemctl', 'is-enabled', 'gf-worker.service'), 'enabled');
  assert.equal(await sh('stat', '-c', '%a', '/etc/gf-test/app.conf'), '640');
  assert.equal(await sh('cat', '/srv/gf-test/data.txt'), 'data');
  assert.equal(await sh('systemctl', 'show', '-p', 'Environment', '--value', 'gf-worker.service'), 'MODE=test');

  // A unit masked by hand (systemd needs the file gone for that) comes back too.
  await sh('systemctl', 'stop', 'gf-hello.service');
  await sh('rm', '/etc/systemd/system/gf-hello.service');
  await sh('systemctl', 'mask', 'gf-hello.service');
  assert.equal((await agentOnce()).code, 0);
  assert.equal(await sh('systemctl', 'is-active', 'gf-hello.service'), 'active');
});

test('a changed file restarts the unit it notifies', async (t) => {
  if (!requireComponent(t, 'a systemd host and git', missing)) return;
  const pid = await sh('systemctl', 'show', '-p', 'MainPID', '--value', 'gf-hello.service');
  commit({ units, files: { ...files, '/etc/gf-test/app.conf': { ...files['/etc/gf-test/app.conf'], content: 'port = 9090\n' } } }, 'port');
  const once = await agentOnce();
  assert.equal(once.outcome.result, 'Succeeded');
  assert.notEqual(await sh('systemctl', 'show', '-p', 'MainPID', '--value', 'gf-hello.service'), pid);
});

test('a unit whose ExecStart fails: the revision is reported failed and rolled back', async (t) => {
  if (!requireComponent(t, 'a systemd host and git', missing)) return;
  const good = (await agentOnce()).status.lastAppliedRevision;
  const bad = commit({ units: { ...units, 'gf-worker.service': { content: '[Service]\nExecStart=/bin/false\n[Install]\nWantedBy=multi-user.target\n' } }, files }, 'broken worker');
  const once = await agentOnce();
  assert.equal(once.code, 1);
  assert.equal(once.outcome.result, 'RolledBack');
  assert.deepEqual(once.status.attempts.slice(0, 2).map((a) => a.result), ['RolledBack', 'Failed']);
  assert.equal(once.status.lastAppliedRevision, good);
  assert.notEqual(once.status.lastAppliedRevision, bad);
  assert.equal(await sh('systemctl', 'is-active', 'gf-worker.service'), 'active');
  assert.match(await sh('systemctl', 'cat', 'gf-worker.service'), /sleep infinity/);
});

test('prune: units and files no longer declared are stopped, disabled and deleted', async (t) => {
  if (!requireComponent(t, 'a systemd host and git', missing)) return;
  commit({ units: { 'gf-hello.service': units['gf-hello.service'] }, files: { '/etc/gf-test/app.conf': files['/etc/gf-test/app.conf'] } }, 'prune');
  const once = await agentOnce();
  assert.equal(once.outcome.result, 'Succeeded', JSON.stringify(once.outcome));
  assert.equal(await sh('systemctl', 'is-active', 'gf-worker.service'), 'inactive');
  assert.equal((await host!.exec(['test', '-e', '/etc/systemd/system/gf-worker.service'])).code, 1);
  assert.equal((await host!.exec(['test', '-e', '/srv/gf-test/data.txt'])).code, 1);
  assert.equal(await sh('systemctl', 'show', '-p', 'LoadState', '--value', 'gf-worker.service'), 'not-found');
});

test('an agent killed mid-apply converges cleanly when restarted', async (t) => {
  if (!requireComponent(t, 'a systemd host and git', missing)) return;
  const many = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`gf-many${i}.service`, { content: worker }]));
  commit({ units: { ...many, 'gf-hello.service': units['gf-hello.service'] }, files }, 'many');
  await sh('systemd-run', '--unit', 'gf-agent-once', '--collect', 'node', '/opt/gitfleet/bin/gitfleet.mjs', 'agent', '--once', '--repo', '/srv/fleet.git', '--host', name, '--state-dir', '/var/lib/gitfleet');
  const deadline = Date.now() + 60_000;
  const begun = async () => (await host!.exec(['test', '-e', '/etc/systemd/system/gf-many0.service'])).code === 0;
  while (Date.now() < deadline && !(await begun())) await new Promise((r) => setTimeout(r, 20));
  assert.ok(await begun(), 'the first agent began applying (gf-many0.service written) within 60 s');
  await sh('systemctl', 'kill', '-s', 'KILL', 'gf-agent-once.service');
  const once = await agentOnce();
  assert.equal(once.code, 0, JSON.stringify(once.outcome));
  for (let i = 0; i < 8; i++) assert.equal(await sh('systemctl', 'is-active', `gf-many${i}.service`), 'active');
  assert.equal((await agentOnce()).outcome.result, 'NoChange');
});
