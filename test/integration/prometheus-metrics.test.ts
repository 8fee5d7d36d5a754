// Prometheus done right: the hub's /metrics and the agent's own metrics (its
// textfile for node_exporter and its loopback /metrics) pass promtool's lint,
// and a real Prometheus scrapes the hub (with the viewer token) and the agent:
// targets up, per-tag and opt-in per-host series present with the right values.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireComponent } from '../harness/require.ts';
import { prometheusMissing, promtoolCheck, startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusServer } from '../harness/prometheus.ts';
import { ENROLL, VIEWER, api, freePort, makeStatus, removeDir, root, startAgent, startHubProcess, tempDir, waitFor } from './hub-harness.ts';
import type { AgentProcess, HubProcess } from './hub-harness.ts';

const dirs: string[] = [];
const reporters: AgentProcess[] = [];
const children: ChildProcess[] = [];
let hub: HubProcess | null = null;
let prometheus: PrometheusServer | null = null;

after(async () => {
  await prometheus?.stop();
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(reporters.map((a) => a.stop()));
  await hub?.stop();
  dirs.forEach(removeDir);
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

/** A fleet of one host whose only resource is a file under `out` (no Docker, no systemd). */
function fleet(out: string): string {
  const repo = dir('metrics-fleet');
  mkdirSync(join(repo, 'lab', 'probe-01'), { recursive: true });
  writeFileSync(join(repo, 'base.yaml'), `files:\n  ${out}/motd:\n    content: "managed\\n"\n    mode: "0644"\n`);
  writeFileSync(join(repo, 'lab', 'probe-01', 'host.yaml'), 'vars: {}\n');
  return repo;
}

function agentArgs(repo: string, state: string, out: string): string[] {
  return ['--import', 'tsx', join(root, 'cli/main.ts'), 'agent', '--repo', repo, '--host', 'probe-01', '--state-dir', state, '--files-allow', out];
}

test('the agent --once writes gitfleet.prom atomically into the textfile directory, and promtool accepts it', async (t) => {
  if (!requireComponent(t, 'promtool', prometheusMissing())) return;
  const out = dir('metrics-out');
  const textfiles = dir('textfile');
  const repo = fleet(out);
  const run = spawn(process.execPath, [...agentArgs(repo, dir('metrics-state'), out), '--once'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GITFLEET_METRICS_TEXTFILE_DIR: textfiles, GITFLEET_POLICY: join(out, 'no-policy.yaml') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  run.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => run.once('exit', r));
  assert.equal(code, 0, stderr);
  // Only the file itself: the temp file was renamed over it, none is left behind.
  assert.deepEqual(readdirSync(textfiles), ['gitfleet.prom']);
  const path = join(textfiles, 'gitfleet.prom');
  assert.equal(statSync(path).mode & 0o777, 0o644, 'node_exporter runs as its own user: the file is world-readable');
  const text = readFileSync(path, 'utf8');
  const lint = promtoolCheck(text);
  assert.equal(lint.code, 0, `promtool check metrics: ${lint.output}\n${text}`);
  assert.match(text, /^gitfleet_agent_reconciles_total\{host="probe-01",result="Succeeded"\} 1$/m);
  assert.match(text, /^gitfleet_agent_resources\{host="probe-01",sync="InSync"\} 1$/m);
  assert.match(text, /^gitfleet_agent_reconcile_duration_seconds_count\{host="probe-01"\} 1$/m);
  const applied = /^gitfleet_agent_last_applied_revision_timestamp_seconds\{host="probe-01"\} (\S+)$/m.exec(text);
  assert.ok(applied, text);
  assert.ok(Math.abs(Number(applied[1]) - Date.now() / 1000) < 120, 'the revision was applied just now');
});

test('a real Prometheus scrapes the hub (per-tag and per-host series) and the agent daemon on its loopback port', async (t) => {
  if (!requireComponent(t, 'prometheus', prometheusMissing())) return;
  hub = await startHubProcess({ dataDir: dir('metrics-hub'), env: { GITFLEET_HUB_METRICS_PER_HOST: 'true' } });
  for (const [host, tags, sync] of [
    ['web-01', ['prod/eu'], 'InSync'],
    ['web-02', ['prod/eu'], 'Drifted'],
    ['db-01', ['prod/us'], 'InSync'],
  ] as const) {
    const a = await startAgent({ hubUrl: hub.agentUrl, host, stateDir: dir('reporter'), token: ENROLL, tags: [...tags] });
    reporters.push(a);
    await waitFor(`${host} to connect`, () => a.connected());
    a.send({ status: makeStatus(host, { sync }) });
  }
  await waitFor('three statuses stored', async () => {
    const s = await api<{ sync: Record<string, number> }>(hub!.url, '/api/v1/summary', { token: VIEWER });
    return s.body.sync.InSync === 2 && s.body.sync.Drifted === 1;
  });
  const scraped = await api<string>(hub.url, '/metrics', { token: VIEWER });
  assert.equal(scraped.status, 200);
  const lint = promtoolCheck(scraped.body);
  assert.equal(lint.code, 0, `promtool check metrics on the hub: ${lint.output}`);
  assert.match(scraped.body, /^gitfleet_hub_tag_hosts\{tag="prod\/eu",sync="Drifted"\} 1$/m);
  assert.match(scraped.body, /^gitfleet_hub_tag_hosts\{tag="prod",sync="InSync"\} 2$/m);
  assert.match(scraped.body, /^gitfleet_hub_host_sync\{host="web-02",sync="Drifted"\} 1$/m);

  // The agent daemon with its /metrics on a loopback port.
  const out = dir('metrics-out');
  const agentPort = await freePort();
  const daemon = spawn(process.execPath, agentArgs(fleet(out), dir('metrics-state'), out), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GITFLEET_METRICS_LISTEN: `127.0.0.1:${agentPort}`, GITFLEET_POLICY: join(out, 'no-policy.yaml'), GITFLEET_DOCKER_SOCKET: join(out, 'no-docker.sock') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(daemon);
  const agentText = await waitFor('the agent /metrics after its first reconcile', async () => {
    const r = await fetch(`http://127.0.0.1:${agentPort}/metrics`).catch(() => null);
    const body = r?.ok ? await r.text() : '';
    return /gitfleet_agent_reconciles_total\{host="probe-01",result="Succeeded"\} 1/.test(body) ? body : null;
  }, 30_000);
  const agentLint = promtoolCheck(agentText);
  assert.equal(agentLint.code, 0, `promtool check metrics on the agent: ${agentLint.output}`);
  assert.equal((await fetch(`http://127.0.0.1:${agentPort}/other`)).status, 404);

  const hubAddress = hub.url.replace(/^http:\/\//, '');
  prometheus = await startPrometheus([
    { job: 'gitfleet-hub', address: hubAddress, bearerToken: VIEWER },
    { job: 'gitfleet-agent', address: `127.0.0.1:${agentPort}` },
  ]);
  const up = await waitFor('both targets up in Prometheus', async () => {
    const r = await prometheus!.query('up');
    return r.length === 2 && r.every((s) => s.value === 1) ? r : null;
  }, 30_000);
  assert.deepEqual(up.map((s) => s.metric.job).sort(), ['gitfleet-agent', 'gitfleet-hub']);
  const drifted = await prometheus.query('gitfleet_hub_tag_hosts{job="gitfleet-hub",tag="prod/eu",sync="Drifted"}');
  assert.equal(drifted.length, 1);
  assert.equal(drifted[0]!.value, 1);
  const inSync = await prometheus.query('sum(gitfleet_hub_host_sync{sync="InSync"})');
  assert.equal(inSync[0]!.value, 2);
  const agentResources = await prometheus.query('gitfleet_agent_resources{job="gitfleet-agent",sync="InSync"}');
  assert.equal(agentResources[0]?.value, 1);
});
