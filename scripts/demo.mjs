// A live gitfleet fleet on this machine (run by scripts/demo.sh / npm run demo):
// the hub with its embedded store, a Git repository made from examples/fleet
// served by `git daemon` on loopback, and three real systemd hosts (nspawn)
// — web-01, web-02, db-01 — each with the agent installed by
// packaging/install.sh. Each host gets a private Docker engine in a network
// namespace of its own: the example's containers share names (web, metrics)
// and ports (network: host) between hosts, which one shared engine could not
// hold. Ctrl-C removes everything it started.
// Where hosts cannot boot (not root, no systemd-nspawn, no base tree) it says
// what is missing and runs the hub with one local agent instead.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { bootHost, systemdHostsAvailable } from '../test/harness/nspawn.ts';
import { gitDaemonArgs, installPushHook, pushArgs } from './demo-git.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const bundle = join(root, 'dist', 'gitfleet.mjs');
const hostNames = ['web-01', 'web-02', 'db-01'];
const work = mkdtempSync(join(tmpdir(), 'gitfleet-demo-'));
const began = Date.now();
const cleanups = [];
const children = [];
let stopping = false;

const elapsed = () => `${((Date.now() - began) / 1000).toFixed(1)}s`;
const step = (text) => process.stdout.write(`[${elapsed().padStart(6)}] ${text}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort(preferred) {
  return new Promise((res) => {
    const server = createServer();
    server.once('error', () => (preferred ? freePort(0).then(res) : res(0)));
    server.listen(preferred ?? 0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => res(port));
    });
  });
}

function startChild(name, cmd, args, env = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b) => (err = (err + b).slice(-3000)));
  child.on('exit', (code) => {
    if (!stopping && code !== 0) process.stderr.write(`demo: ${name} exited (${code}):\n${err}\n`);
  });
  children.push(child);
  return child;
}

async function waitUntil(what, ms, probe) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function cleanup() {
  if (stopping) return;
  stopping = true;
  step('stopping: hosts, engines, hub, Git server…');
  for (const fn of cleanups.reverse()) await fn().catch((e) => process.stderr.write(`demo: cleanup: ${e.message}\n`));
  for (const c of children) c.kill('SIGTERM');
  // dockerd leaves its network namespace bind-mounted under its exec root.
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(`${work}/`));
  for (const m of mounts.sort().reverse()) await run('umount', [m]).catch(() => run('umount', ['-l', m]).catch(() => undefined));
  rmSync(work, { recursive: true, force: true });
  step('clean');
}

/** A private dockerd in its own network namespace, with the demo image loaded. */
async function privateEngine(name) {
  const dir = join(work, 'engines', name);
  mkdirSync(dir, { recursive: true });
  const netns = `gitfleet-demo-${name}`;
  await run('ip', ['netns', 'add', netns]);
  cleanups.push(() => run('ip', ['netns', 'delete', netns]));
  await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  const sock = join(dir, 'docker.sock');
  // nsenter --net, not `ip netns exec`: that one remounts /sys and hides the cgroup mounts dockerd needs.
  const dockerd = startChild(`dockerd (${name})`, 'nsenter', [`--net=/run/netns/${netns}`, 'dockerd', '--bridge=none', '--iptables=false', '--ip-masq=false',
    `--data-root=${dir}/data`, `--exec-root=${dir}/exec`, `--pidfile=${dir}/docker.pid`, `--host=unix://${sock}`]);
  cleanups.push(async () => {
    // Removing the containers first spares dockerd its 10 s stop timeout per container.
    const ids = (await run('docker', ['-H', `unix://${sock}`, 'ps', '-aq']).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await run('docker', ['-H', `unix://${sock}`, 'rm', '-f', ...ids]).catch(() => undefined);
    dockerd.kill('SIGTERM');
    await new Promise((r) => (dockerd.exitCode !== null ? r() : dockerd.once('exit', r)));
  });
  await waitUntil(`the Docker engine of ${name}`, 20_000, async () => (await run('docker', ['-H', `unix://${sock}`, 'version'])).stdout.length > 0);
  const save = spawn('docker', ['save', 'local/busybox:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const load = spawn('docker', ['-H', `unix://${sock}`, 'load'], { stdio: ['pipe', 'ignore', 'inherit'] });
  save.stdout.pipe(load.stdin);
  await new Promise((r, j) => load.on('exit', (code) => (code === 0 ? r() : j(new Error('docker load failed')))));
  return sock;
}

async function main() {
  for (const [what, ok, fix] of [
    ['dist/gitfleet.mjs (the bundle)', existsSync(bundle), 'npm ci (or npm run build)'],
    ['git', existsSync('/usr/bin/git'), 'apt-get install git'],
  ]) {
    if (!ok) throw new Error(`${what} is missing: ${fix}`);
  }
  step('fleet repository from examples/fleet');
  const srv = join(work, 'git');
  const checkout = join(work, 'fleet');
  cpSync(join(root, 'examples/fleet'), checkout, { recursive: true });
  const git = (args, cwd = checkout) => execFileSync('git', args, { cwd, stdio: 'ignore', env: { ...process.env, GIT_AUTHOR_NAME: 'demo', GIT_AUTHOR_EMAIL: 'demo@example.com', GIT_COMMITTER_NAME: 'demo', GIT_COMMITTER_EMAIL: 'demo@example.com' } });
  git(['init', '--quiet', '--initial-branch=main']);
  git(['add', '--all']);
  git(['commit', '--quiet', '-m', 'fleet from examples/fleet']);
  mkdirSync(srv);
  git(['clone', '--quiet', '--bare', checkout, join(srv, 'fleet.git')], work);
  const gitPort = await freePort();
  startChild('git daemon', 'git', gitDaemonArgs(srv, gitPort));
  const repoUrl = `git://127.0.0.1:${gitPort}/fleet.git`;
  const push = `git ${pushArgs(repoUrl).join(' ')}`;
  await waitUntil('git daemon', 10_000, async () => (await run('git', ['ls-remote', repoUrl])).stdout.includes('refs/heads/main'));
  step(`Git server: ${repoUrl} (work in ${checkout}: commit there, then ${push})`);

  const hubPort = await freePort(8080);
  const admin = randomBytes(16).toString('hex');
  const enrollment = randomBytes(16).toString('hex');
  const webhookSecret = randomBytes(16).toString('hex');
  // A push tells the hub at once (its webhook sends reconcile-now to the hosts the change concerns).
  installPushHook(join(srv, 'fleet.git'), { webhookUrl: `http://127.0.0.1:${hubPort}/api/v1/hooks/git`, secret: webhookSecret });
  startChild('hub', process.execPath, [bundle, 'hub'], {
    GITFLEET_HUB_LISTEN: `127.0.0.1:${hubPort}`, GITFLEET_HUB_DATA_DIR: join(work, 'hub'), GITFLEET_HUB_REPO: repoUrl,
    GITFLEET_HUB_ENROLLMENT_TOKEN: enrollment, GITFLEET_HUB_ADMIN_TOKEN: admin, GITFLEET_HUB_WEBHOOK_SECRET: webhookSecret, GITFLEET_HUB_HEARTBEAT: '2s', GITFLEET_HUB_POLL_INTERVAL: '10s', GITFLEET_HUB_LOG_LEVEL: 'warn',
  });
  const hubUrl = `http://127.0.0.1:${hubPort}`;
  await waitUntil('the hub', 15_000, async () => (await fetch(`${hubUrl}/healthz`)).ok);
  step(`hub: ${hubUrl}`);
  const agentUrl = `ws://127.0.0.1:${hubPort}/agent`;

  const missing = systemdHostsAvailable();
  let expected;
  if (missing) {
    process.stdout.write(`\n  systemd hosts cannot boot here: ${missing}.\n  To get them: run as root on Linux with systemd-nspawn and the cached base tree: sudo bash test/env/provision.sh\n  Running the hub with one local agent instead (host kiosk-demo, place prod/kiosks).\n\n`);
    const state = join(work, 'agent');
    startChild('local agent', process.execPath, [bundle, 'agent', '--repo', repoUrl, '--host', 'kiosk-demo', '--place', 'prod/kiosks', '--state-dir', state], {
      GITFLEET_AGENT_HUB: agentUrl, GITFLEET_TOKEN: enrollment, GITFLEET_INTERVAL: '10s', GITFLEET_FILES_ALLOW: '/etc/gitfleet-demo',
    });
    cleanups.push(() => run('docker', ['rm', '-f', 'kiosk-ui']).then(() => undefined, () => undefined));
    expected = ['kiosk-demo'];
  } else {
    step(`booting ${hostNames.length} systemd hosts, each with a private Docker engine…`);
    const hosts = await Promise.all(hostNames.map(async (name) => {
      const sock = await privateEngine(name);
      const host = await bootHost(name, { bindDocker: false, binds: [{ host: sock, guest: '/var/run/docker.sock' }] });
      cleanups.push(() => host.poweroff());
      step(`  ${name} booted (pid1 ${host.pid1})`);
      return host;
    }));
    step('installing the agent on each host with packaging/install.sh…');
    // The host policy (docs/policy.md): the shipped baseline, but the demo's engines have no
    // bridge network, so its containers use the host's; install.sh keeps a policy already there.
    const demoPolicy = readFileSync(join(root, 'packaging/policy.yaml'), 'utf8').replace('allowHostNetwork: false', 'allowHostNetwork: true # the demo engines have no bridge network');
    await Promise.all(hosts.map(async (host) => {
      const p = await host.exec(['sh', '-c', 'mkdir -p /etc/gitfleet && cat > /etc/gitfleet/policy.yaml'], { input: demoPolicy });
      if (p.code !== 0) throw new Error(`cannot write the demo host policy on ${host.name}: ${p.stderr}`);
      const r = await host.exec(['bash', '/opt/gitfleet/packaging/install.sh', 'agent', '--repo', repoUrl, '--host', host.name, '--hub', agentUrl, '--token', enrollment, '--interval', '10s', '--drift-interval', '5s'], { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`install.sh on ${host.name} failed:\n${r.stdout}${r.stderr}`);
      step(`  ${host.name}: gitfleet-agent.service running`);
    }));
    expected = hostNames;
  }

  step('waiting for the fleet to converge…');
  let last = '';
  await waitUntil('the fleet to converge', 120_000, async () => {
    const res = await fetch(`${hubUrl}/api/v1/hosts?limit=100`, { headers: { authorization: `Bearer ${admin}` } });
    const { hosts } = await res.json();
    const line = expected.map((id) => `${id}: ${hosts.find((h) => h.id === id)?.sync ?? 'not seen'}`).join(', ');
    if (line !== last) step(`  ${line}`);
    last = line;
    // Without root the local agent cannot reach Docker or write /etc: it reports
    // why instead of converging, and that report is what the demo waits for.
    if (missing) return expected.every((id) => { const h = hosts.find((x) => x.id === id); return h?.lastAppliedRevision || (h && h.sync !== 'Unknown' && h.statusUpdatedAt); });
    return expected.every((id) => hosts.find((h) => h.id === id)?.lastAppliedRevision);
  });
  step(missing ? `hub and local agent up in ${elapsed()}` : `fleet up in ${elapsed()}`);
  if (missing && process.getuid?.() !== 0) {
    process.stdout.write('  (not root: the local agent cannot use Docker or write /etc/gitfleet-demo, so its resources show as failed or unknown with the reason — open the host in the web view)\n');
  }
  process.stdout.write(`\n  web view:    ${hubUrl}/   (admin token: ${admin})\n  API:         curl -H 'Authorization: Bearer ${admin}' ${hubUrl}/api/v1/summary\n`);
  if (!missing) process.stdout.write(`  a host:      bash test/env/host.sh exec web-01 systemctl status gitfleet-agent\n`);
  process.stdout.write(`  change it:   cd ${checkout} && edit && git commit -am … && ${push}   (the hosts follow within seconds)\n\n  Ctrl-C stops the demo and removes everything it started.\n`);
  await new Promise(() => undefined);
}

process.once('SIGINT', () => void cleanup().then(() => process.exit(0)));
process.once('SIGTERM', () => void cleanup().then(() => process.exit(0)));
main().catch(async (error) => {
  process.stderr.write(`demo: ${error.message}\n`);
  await cleanup();
  process.exit(1);
});
