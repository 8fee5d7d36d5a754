// Issue 18, "flaky links": an edge host behind a bad link. A real hub process
// and a real git daemon, each reached by the agent daemon (`gitfleet agent`,
// files only) through a fault-injecting TCP proxy of the test harness (this
// kernel has no netem): 500 ms added latency each way, a stall, a Git fetch
// cut mid-stream, and a one-minute outage in which the link black-holes
// everything. Through all of it the host keeps its last good revision (a
// drift is healed to it during the outage, never to nothing), reaches every
// new revision once the link lets it, its reports arrive at the hub in seq
// order and once, and the fetch retried after a cut downloads only what the
// host did not have (bytes through the proxy vs a full clone). It also prints
// what a no-op poll and a report cost on the wire.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { requireComponent } from '../harness/require.ts';
import { GitDaemon, WorkRepo, missingGitServer } from '../harness/git-servers.ts';
import { FlakyProxy } from '../harness/flaky-proxy.ts';
import { cliEntry, repoRoot } from '../helpers/gitfleet-cli.ts';
import { ADMIN, ENROLL, api, removeDir, startHubProcess, tempDir, waitFor, type HubProcess } from './hub-harness.ts';

const OUTAGE_MS = 60_000;
const LATENCY_MS = 500;
const host = 'edge-01';
const scratch = tempDir('edge-flaky');
const target = join(scratch, 'target');
mkdirSync(target);
const versionFile = join(target, 'version');
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await within(10_000, c().catch(() => undefined));
  removeDir(scratch);
});

interface Summary { connectivity: string; lastAppliedRevision: string | null; sync: string }
interface Event { seq?: number; time: string; reason: string }
interface Attempt { revision: string; result: string; startedAt: string }
interface Detail { summary?: Summary; attempts: Attempt[] }

const hostDetail = async (hub: HubProcess) => (await api<Detail>(hub.url, `/api/v1/hosts/${host}`, { token: ADMIN })).body;
const hubEvents = async (hub: HubProcess) => (await api<{ events: Event[] }>(hub.url, `/api/v1/hosts/${host}/events?limit=1000`, { token: ADMIN })).body.events;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const t0 = Date.now();
/** A measurement for the summary, also on stderr as it happens (the TAP output comes only at the end). */
function note(t: { diagnostic(m: string): void }, line: string): void {
  t.diagnostic(line);
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${line}\n`);
}
/** Bounded: a cleanup that hangs must not hold the suite. */
const within = (ms: number, p: Promise<unknown>) => Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]);

test('behind a bad link (500 ms latency, a stall, a fetch cut mid-stream, a 1 min outage) the host keeps its last good revision, reaches every new one, reports in order once, and a cut fetch re-downloads only what it lacked', { timeout: 240_000 }, async (t) => {
  if (!requireComponent(t, 'git daemon', missingGitServer('daemon'))) return;
  const srv = join(scratch, 'srv');
  const work = new WorkRepo(join(srv, 'fleet.git'));
  cleanups.push(async () => work.dispose());
  const commit = (version: string, extra: Record<string, string> = {}) => {
    const files = { [versionFile]: { content: `${version}\n` } };
    const id = work.commit({ [`${host}/host.yaml`]: '{}\n', [`${host}/files.yaml`]: stringify({ files }), ...extra }, version);
    work.push();
    return id;
  };
  // A repository with some weight (1.5 MiB of incompressible text), so a full clone and an incremental fetch differ clearly.
  const v1 = commit('v1', { 'assets/base.txt': randomBytes(1_179_648).toString('base64') });

  const daemon = new GitDaemon(srv);
  await daemon.start();
  cleanups.push(() => daemon.stop());
  const gitLink = new FlakyProxy({ host: '127.0.0.1', port: daemon.port });
  await gitLink.start();
  cleanups.push(() => gitLink.stop());
  const hub = await startHubProcess({ dataDir: join(scratch, 'hub') });
  cleanups.push(() => hub.stop());
  const hubLink = new FlakyProxy({ host: '127.0.0.1', port: hub.port });
  await hubLink.start();
  cleanups.push(() => hubLink.stop());
  const links = [gitLink, hubLink];

  const repoUrl = `git://${gitLink.address}/fleet.git`;
  const agent: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', cliEntry, 'agent', '--repo', repoUrl, '--host', host, '--state-dir', join(scratch, 'state'), '--files-allow', target], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch,
      GITFLEET_AGENT_HUB: `ws://${hubLink.address}/agent`, GITFLEET_TOKEN: ENROLL, GITFLEET_LOG_LEVEL: 'info', GITFLEET_LOG_FORMAT: 'json',
      GITFLEET_INTERVAL: '2s', GITFLEET_DRIFT_INTERVAL: '2s', GITFLEET_RETRY_INTERVAL: '2s', GITFLEET_HEALTH_SETTLE: '500ms',
      GITFLEET_DOCKER_SOCKET: join(scratch, 'no-docker.sock'),
    },
  });
  const logs: string[] = [];
  let stderr = '';
  agent.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  createInterface({ input: agent.stdout }).on('line', (l) => logs.push(l));
  const exited = new Promise((r) => agent.once('exit', r));
  cleanups.push(async () => { agent.kill('SIGTERM'); await within(5000, exited); agent.kill('SIGKILL'); });
  const tail = () => `\nagent log:\n${logs.slice(-20).join('\n')}\nstderr: ${stderr}`;

  const converged = async (revision: string, timeoutMs: number) => {
    const started = Date.now();
    await waitFor(`${host} applied ${revision.slice(0, 8)} at the hub`, async () => {
      const s = (await hostDetail(hub)).summary; // absent until the host's first hello
      return s !== undefined && s.connectivity === 'Online' && s.lastAppliedRevision === revision && s.sync === 'InSync';
    }, timeoutMs).catch((e: unknown) => { throw new Error(`${String(e)}${tail()}`); });
    return Date.now() - started;
  };
  const fileIs = (v: string) => readFileSync(versionFile, 'utf8') === `${v}\n`;

  // 1. First converge on a good link: the full (shallow) clone's size is the baseline.
  await converged(v1, 60_000);
  assert.ok(fileIs('v1'));
  const firstClone = gitLink.bytes.down;
  note(t, `MEASURED first clone by the agent (1.5 MiB repository): ${kb(firstClone)} down, ${kb(gitLink.bytes.up)} up`);

  // 2. Idle: what a no-op poll costs (one ls-remote per connection) and what the hub link costs at rest.
  await sleep(3000);
  for (const l of links) l.resetBytes();
  const acceptedBefore = gitLink.accepted;
  const idleStart = Date.now();
  await sleep(10_000);
  // At a 2 s interval 10 s hold about five polls; a loaded machine runs them later: keep looking until three came.
  await waitFor('the agent to poll three times at its 2 s interval', () => gitLink.accepted - acceptedBefore >= 3, 30_000);
  const polls = gitLink.accepted - acceptedBefore;
  const idleMs = Date.now() - idleStart;
  const idleUp = hubLink.bytes.up;
  const idleDown = hubLink.bytes.down;
  const perPoll = (gitLink.bytes.up + gitLink.bytes.down) / polls;
  note(t, `MEASURED no-op Git poll: ${Math.round(perPoll)} bytes (${polls} polls in ${idleMs} ms; ${Math.round(gitLink.bytes.up / polls)} up, ${Math.round(gitLink.bytes.down / polls)} down) vs ${kb(firstClone)} for the first clone`);
  // At rest the agent still sends every 2 s (a reconcile pass and a heartbeat each 2 s here): what, per 2 s.
  note(t, `MEASURED hub link at rest: ${Math.round((idleUp * 2000) / idleMs)} bytes up and ${Math.round((idleDown * 2000) / idleMs)} down per 2 s (pass and heartbeat every 2 s)`);

  // 3. Reports: a drift healed locally sends its events and a status; bytes up the hub link over the resting rate.
  const eventsBefore = (await hubEvents(hub)).length;
  hubLink.resetBytes();
  const driftStart = Date.now();
  writeFileSync(versionFile, 'tampered\n');
  await waitFor('the drift healed', () => fileIs('v1'), 20_000);
  await waitFor('the heal reported', async () => (await hubEvents(hub)).length > eventsBefore, 20_000);
  await sleep(2000); // the coalesced status follows within a second
  const healEvents = (await hubEvents(hub)).length - eventsBefore;
  const extra = hubLink.bytes.up - (idleUp / idleMs) * (Date.now() - driftStart);
  note(t, `MEASURED a drift heal's reports (${healEvents} events and a status) add ${Math.round(extra)} bytes up over the resting traffic`);

  // 4. 500 ms added latency each way, from here to the end.
  for (const l of links) l.latencyMs = LATENCY_MS;
  const v2 = commit('v2');
  note(t, `MEASURED with ${LATENCY_MS} ms latency each way: push → applied and reported in ${((await converged(v2, 60_000)) / 1000).toFixed(1)} s`);
  assert.ok(fileIs('v2'));

  // 5. A 10 s stall of both links (nothing forwarded, nothing closed) while a commit lands.
  for (const l of links) l.stall(10_000);
  const stalledAt = Date.now();
  const v3 = commit('v3');
  // Looked at 9 s into the stall, counted from its start, not from after the commit and push (slow on a loaded
  // machine): counted from there, the look could come after the link is back.
  await sleep(9000 - (Date.now() - stalledAt));
  assert.ok(fileIs('v2'), 'no new revision through a stalled link, and the old one kept');
  note(t, `MEASURED after a 10 s stall: applied and reported in ${((await converged(v3, 60_000)) / 1000).toFixed(1)} s`);

  // 6. A fetch cut mid-stream: the retry downloads the new objects only, not the repository again.
  const added = randomBytes(196_608).toString('base64'); // 256 KiB
  gitLink.resetBytes();
  gitLink.cutAfter(64 * 1024, 'down');
  const v4 = commit('v4', { 'assets/new.txt': added });
  await waitFor('the fetch to be cut', () => !gitLink.cutArmed, 30_000);
  const atCut = gitLink.bytes.down;
  await converged(v4, 60_000);
  assert.ok(fileIs('v4'));
  const retry = gitLink.bytes.down - atCut;
  note(t, `MEASURED fetch cut after ${kb(atCut)}: the retry took ${kb(retry)} down (256 KiB added) vs ${kb(firstClone)} for the first clone`);
  assert.ok(retry < firstClone / 3, `the retry downloaded ${retry} bytes, the first clone ${firstClone}: it fetched only the new objects`);
  assert.ok(retry > 150_000, `the retry carried the new 256 KiB (${retry} bytes)`);

  // 7. A one-minute outage: both links black-hole (accepted, never answered; live connections go silent).
  for (const l of links) l.outage('blackhole');
  const outageStart = Date.now();
  const v5 = commit('v5');
  await waitFor('the hub to see the host offline', async () => (await hostDetail(hub)).summary?.connectivity === 'Offline', 45_000);
  note(t, `MEASURED hub marks the host offline ${((Date.now() - outageStart) / 1000).toFixed(1)} s into the outage`);
  writeFileSync(versionFile, 'tampered\n');
  const driftAt = Date.now();
  await waitFor('the drift healed to the last good revision while cut off', () => fileIs('v4'), 45_000).catch((e: unknown) => { throw new Error(`${String(e)}${tail()}`); });
  note(t, `MEASURED drift during the outage healed to the last good revision in ${((Date.now() - driftAt) / 1000).toFixed(1)} s`);
  await sleep(OUTAGE_MS - (Date.now() - outageStart));
  assert.ok(fileIs('v4'), 'the host stays at its last good revision through the outage (no rollback, no empty state)');
  assert.equal(agent.exitCode, null, `the agent runs through the outage${tail()}`);
  for (const l of links) l.restore();
  const restoredAt = Date.now();
  const recovery = await converged(v5, 90_000);
  note(t, `MEASURED after a ${OUTAGE_MS / 1000} s outage: link back → applied and reported in ${(recovery / 1000).toFixed(1)} s`);
  assert.ok(fileIs('v5'));

  // Reports: every agent event at the hub, in seq order of arrival, none twice; the outage's made it.
  const madeInOutage = (list: Event[]) => list.filter((e) => e.seq !== undefined && Date.parse(e.time) > outageStart && Date.parse(e.time) < restoredAt);
  await waitFor('the events made during the outage (the heal) to reach the hub after it', async () => madeInOutage(await hubEvents(hub)).length > 0, 30_000);
  await sleep(2000); // then time for a duplicate, if one were sent
  const events = await hubEvents(hub);
  const seqs = events.filter((e) => e.seq !== undefined).map((e) => e.seq!).reverse(); // newest first from the API
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, `event seqs in order, none twice: ${seqs.join(',')}`);
  const queued = madeInOutage(events);
  note(t, `${seqs.length} agent events at the hub, ${queued.length} made during the outage (${[...new Set(queued.map((e) => e.reason))].join(', ')})`);
  const attempts = (await hostDetail(hub)).attempts;
  const starts = attempts.map((a) => a.startedAt);
  assert.equal(new Set(starts).size, starts.length, 'no attempt stored twice');
  for (const rev of [v2, v3, v5]) assert.equal(attempts.filter((a) => a.revision === rev && a.result === 'Succeeded').length, 1, `one successful attempt for ${rev.slice(0, 8)}`);

  // Baseline: a full shallow clone of the head through the same link (latency off), what a re-download would cost.
  for (const l of links) l.latencyMs = 0;
  gitLink.resetBytes();
  // Asynchronous: the proxy runs in this process's event loop.
  await promisify(execFile)('git', ['clone', '--quiet', '--bare', '--depth=1', repoUrl, join(scratch, 'baseline.git')], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, GIT_CONFIG_NOSYSTEM: '1' } });
  note(t, `MEASURED baseline full clone of the head: ${kb(gitLink.bytes.down)} down; cut-fetch retry ${kb(retry)}; no-op poll ${Math.round(perPoll)} bytes`);
  assert.ok(retry < gitLink.bytes.down / 3);
});
