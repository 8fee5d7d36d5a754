// Fault: a host's only network link is cut for two minutes while a new commit
// is pushed (with its webhook to the hub). The real agent (the built CLI, run
// inside a booted systemd host as a systemd service) reaches its git daemon
// and hub across a veth link of TEST-NET-1 addresses; the link goes down
// inside the host's network namespace, the commit is pushed, the link comes
// back two minutes later. The host must reach the new revision, and the
// reports it queued meanwhile must arrive at the hub in order, none twice.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { requireComponent } from '../harness/require.ts';
import { systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';
import { WorkRepo, freePort, missingGitServer, tempDir } from '../harness/git-servers.ts';
import { TestNet, netnsMissing } from '../harness/faults-netns.ts';
import { HubProcess, assertEventSeqs, bundleMissing, measured, sleep, waitFor } from '../harness/faults.ts';

const CUT_MS = 120_000;
const tag = process.pid.toString(36).slice(-6);
const name = `gff-net-${tag}`;
const work = tempDir('faults-net');
const net = new TestNet(tag);
let hub: HubProcess | null = null;
let daemon: ChildProcess | null = null;
let host: SystemdHost | null = null;
let repo: WorkRepo | null = null;

after(async () => {
  await net.dispose(host ? name : undefined);
  daemon?.kill('SIGTERM');
  await hub?.stop();
  repo?.dispose();
  rmSync(work, { recursive: true, force: true });
});

function commit(version: string): string {
  const files = { '/etc/gff/version': { content: `${version}\n` } };
  const id = repo!.commit({ [`${name}/host.yaml`]: '', [`${name}/files.yaml`]: stringify({ files }) }, version);
  repo!.push();
  return id;
}

async function hostFile(): Promise<string> {
  return (await host!.exec(['cat', '/etc/gff/version'])).stdout.trim();
}

test('a host cut off the network for two minutes during a push reaches the new revision; its queued reports arrive in order, once', { timeout: 300_000 }, async (t) => {
  if (!requireComponent(t, 'systemd hosts', systemdHostsAvailable())) return;
  if (!requireComponent(t, 'network namespaces', netnsMissing())) return;
  if (!requireComponent(t, 'git daemon', missingGitServer('daemon'))) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  net.create();
  t.diagnostic(`test network ${net.vmAddress} (VM) ↔ ${net.hostAddress} (host ${name}, namespace ${net.ns})`);

  // The git daemon and the hub listen on the VM's end of the link only.
  const srv = join(work, 'srv');
  mkdirSync(srv);
  repo = new WorkRepo(join(srv, 'fleet.git'));
  const v1 = commit('v1');
  const gitPort = await freePort();
  daemon = spawn('git', ['daemon', `--base-path=${srv}`, '--export-all', '--reuseaddr', `--listen=${net.vmAddress}`, `--port=${gitPort}`, srv], { stdio: 'ignore' });
  const repoUrl = `git://${net.vmAddress}:${gitPort}/fleet.git`;
  hub = new HubProcess({ dataDir: join(work, 'hub'), address: net.vmAddress, port: await freePort(), repo: repoUrl, heartbeat: '2s' });
  await hub.start();

  host = await net.bootHost(name);
  const env = {
    GITFLEET_AGENT_HUB: hub.agentUrl, GITFLEET_AGENT_HUB_INSECURE: 'true', GITFLEET_TOKEN: hub.enrollment, GITFLEET_INTERVAL: '5s', GITFLEET_DRIFT_INTERVAL: '2s',
    GITFLEET_HEALTH_SETTLE: '500ms', GITFLEET_RETRY_INTERVAL: '2s', GITFLEET_FILES_ALLOW: '/etc/gff', GITFLEET_LOG_LEVEL: 'info',
  };
  const started = await host.exec(['systemd-run', '--unit', 'gff-agent', ...Object.entries(env).map(([k, v]) => `--setenv=${k}=${v}`),
    'node', '/opt/gitfleet/bin/gitfleet.mjs', 'agent', '--repo', repoUrl, '--host', name, '--state-dir', '/var/lib/gitfleet']);
  assert.equal(started.code, 0, started.stderr);
  const journal = async () => (await host!.exec(['journalctl', '-u', 'gff-agent', '--no-pager', '-o', 'cat', '-n', '25'])).stdout;
  await hub.convergedAt(name, v1, 60_000).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\nagent journal:\n${await journal()}`);
  });
  assert.equal(await hostFile(), 'v1');

  // Cut the link, push with its webhook, keep it cut for two minutes.
  net.cut();
  const cutAt = Date.now();
  const v2 = commit('v2');
  await hub.webhook(v2);
  await waitFor('the hub to see the host go offline', 30_000, async () => ((await hub!.host(name)).summary.connectivity === 'Offline' ? true : undefined), 500);
  t.diagnostic(`host offline at the hub ${Date.now() - cutAt} ms after the cut`);
  await sleep(CUT_MS - (Date.now() - cutAt));
  assert.equal(await hostFile(), 'v1', 'no way to the new revision while cut off');
  assert.equal((await host.exec(['systemctl', 'is-active', 'gff-agent'])).stdout.trim(), 'active', 'the agent runs through the cut');
  net.restore();
  const restoredAt = Date.now();

  await hub.convergedAt(name, v2, 90_000).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\nagent journal:\n${await journal()}`);
  });
  measured(t, 'fault 3 (host network cut for 2 min during a push): link back → converged at the new revision and reported at the hub', Date.now() - restoredAt);
  assert.equal(await hostFile(), 'v2');

  // The reports queued during the cut: at the hub, in seq order, none twice.
  const events = await hub.events(name);
  const seqs = assertEventSeqs(events);
  assert.equal(new Set(seqs).size, seqs.length, 'no event stored twice');
  const queued = events.filter((e) => e.seq !== undefined && Date.parse(e.time) > cutAt && Date.parse(e.time) < restoredAt);
  t.diagnostic(`${seqs.length} agent events at the hub, ${queued.length} of them made while the host was cut off (${[...new Set(queued.map((e) => e.reason))].join(', ')})`);
  assert.ok(queued.length > 0, 'the events the agent queued while cut off reached the hub');
  const detail = await hub.host(name);
  const applied = detail.attempts.filter((a) => a.revision === v2 && a.result === 'Succeeded');
  assert.equal(applied.length, 1, 'the attempt that applied v2 is stored once');
  const starts = detail.attempts.map((a) => a.startedAt);
  assert.equal(new Set(starts).size, starts.length, 'no attempt stored twice');
});
