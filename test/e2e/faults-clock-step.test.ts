// Fault: the wall clock of the agent's process is stepped an hour forward,
// then an hour back (an NTP step, a `date -s`, a VM resumed from a snapshot).
// libfaketime (LD_PRELOAD) steps the realtime clock of the agent process only —
// the hub keeps the true time — and leaves the monotonic clock alone, as the
// kernel does: settimeofday never moves CLOCK_MONOTONIC. (Faking the monotonic
// clock backwards too would stall every Node timer by the step, a fault no
// real kernel produces.) The agent must keep polling and reconciling — no
// hour-long stall after the backward step, no storm after the forward one —
// and converge on a pushed revision within its poll interval, reported at the hub.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { requireComponent } from '../harness/require.ts';
import { dockerMissingReason } from '../harness/docker.ts';
import { WorkRepo, freePort, missingGitServer, tempDir } from '../harness/git-servers.ts';
import { AgentProcess, HubProcess, assertEventSeqs, bundleMissing, measured, sleep, waitFor } from '../harness/faults.ts';

const libfaketime = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const POLL_S = 5;
const host = `gff-clock-${process.pid.toString(36)}`;
const work = tempDir('faults-clock');
const filesDir = join(work, 'files');
const offsetFile = join(work, 'faketime');
let hub: HubProcess | null = null;
let agent: AgentProcess | null = null;
let repo: WorkRepo | null = null;

after(async () => {
  await agent?.stop();
  await hub?.stop();
  repo?.dispose();
  rmSync(work, { recursive: true, force: true });
});

function commit(version: string): string {
  const files = { [join(filesDir, 'app.conf')]: { content: `version = ${version}\n` } };
  const id = repo!.commit({ [`${host}/host.yaml`]: '', [`${host}/files.yaml`]: stringify({ files }) }, version);
  repo!.push();
  return id;
}

/** The environment that makes a process see the offset in `offsetFile` on its wall clock, re-read every second. */
const faketimeEnv = { LD_PRELOAD: libfaketime, FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_CACHE_DURATION: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };

/** null when libfaketime steps a Node process's wall clock and leaves its monotonic clock alone. */
function faketimeMissing(): string | null {
  if (!existsSync(libfaketime)) return `${libfaketime} is missing (apt-get install faketime)`;
  writeFileSync(offsetFile, '+1h\n');
  const out = execFileSync(process.execPath, ['-e', 'console.log(Date.now() - Number(process.argv[1]), performance.timeOrigin)', String(Date.now())], { env: { ...faketimeEnv, PATH: process.env.PATH }, encoding: 'utf8' });
  writeFileSync(offsetFile, '+0\n');
  const skew = Number(out.split(' ')[0]);
  return Math.abs(skew - 3_600_000) < 60_000 ? null : `libfaketime did not step Node's clock (skew ${skew} ms)`;
}

/** Reconciles the agent logged from index `from` of its log (up to index `to`, if given). */
function reconcilesSince(from: number, to?: number): number {
  return agent!.logs.slice(from, to).filter((l) => l.msg === 'reconcile finished').length;
}

/** How far ahead of the true time the agent's wall clock was on its latest log line from index `from`, or undefined if none. */
function agentClockSkewSince(from: number): number | undefined {
  const stamped = agent!.logs.slice(from).filter((l) => typeof l.time === 'string');
  const last = stamped.at(-1);
  return last ? Date.parse(last.time as string) - Date.now() : undefined;
}

test('wall clock stepped an hour forward and back: the agent keeps reconciling and converges within its poll interval', { timeout: 180_000 }, async (t) => {
  mkdirSync(filesDir, { recursive: true });
  if (!requireComponent(t, 'libfaketime', faketimeMissing())) return;
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  if (!requireComponent(t, 'git', missingGitServer('daemon'))) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  repo = new WorkRepo(join(work, 'fleet.git'));
  const v1 = commit('v1');
  hub = new HubProcess({ dataDir: join(work, 'hub'), port: await freePort() });
  await hub.start();
  agent = new AgentProcess({ repo: repo.bare, host, stateDir: join(work, 'state'), hub, interval: `${POLL_S}s`, env: { GITFLEET_FILES_ALLOW: filesDir, ...faketimeEnv } });
  agent.start();
  await hub.convergedAt(host, v1, 60_000);
  const fromSteady = agent.logs.length;
  await sleep(6000);
  const steady = reconcilesSince(fromSteady);
  t.diagnostic(`steady state: ${steady} reconciles in 6 s (drift check every 2 s, poll every ${POLL_S} s)`);

  // Bounded: a pushed revision must be at the hub within one poll (±10% jitter) plus the apply and report.
  const withinPoll = POLL_S * 1100 + 4000;

  for (const [step, offset, version] of [['forward', '+1h', 'v2'], ['back', '+0', 'v3']] as const) {
    const beforeStep = agent.logs.length;
    writeFileSync(offsetFile, `${offset}\n`);
    // libfaketime re-reads the offset about every second, on a loaded machine later: the step has happened
    // when the agent's own log lines (stamped with its wall clock, one per drift check) carry it.
    const shows = (skew: number) => (step === 'forward' ? skew > 30 * 60_000 : Math.abs(skew) < 5 * 60_000);
    await waitFor(`the agent's log lines to carry its clock stepped ${step}`, 20_000, () => {
      const skew = agentClockSkewSince(beforeStep);
      return skew !== undefined && shows(skew) ? true : undefined;
    }, 100).catch((e: unknown) => {
      throw new Error(`${String(e)}\nagent: ${agent!.tail(5)}`);
    });
    const from = agent.logs.length;
    const revision = commit(version);
    const pushedAt = Date.now();
    await hub.convergedAt(host, revision, withinPoll).catch((e: unknown) => {
      throw new Error(`after the clock stepped ${step}: ${String(e)}\nagent: ${agent!.tail(20)}`);
    });
    const took = Date.now() - pushedAt;
    measured(t, `fault 5 (wall clock stepped an hour ${step}): push → converged and reported at the hub`, took);
    assert.equal(readFileSync(join(filesDir, 'app.conf'), 'utf8'), `version = ${version}\n`);
    await sleep(Math.max(0, 6000 - took));
    const windowEnd = agent.logs.length;
    const n = reconcilesSince(from, windowEnd);
    t.diagnostic(`clock stepped ${step}: ${n} reconciles in the ${Math.max(6000, took)} ms after the push`);
    // A storm shows as too many in the window; a loaded machine only makes fewer, so the bound holds.
    assert.ok(n <= steady * 2 + 3, `no storm after the clock stepped ${step}: ${n} reconciles vs ${steady} in steady state`);
    // Kept reconciling (drift checks every 2 s): two passes, however late a loaded machine runs them.
    await waitFor(`two reconciles after the clock stepped ${step} (the agent stalled?)`, 20_000, () => (reconcilesSince(from) >= 2 ? true : undefined)).catch((e: unknown) => {
      throw new Error(`${String(e)}\nagent: ${agent!.tail(10)}`);
    });
    assert.equal(agent.exited, null);
  }

  // Nothing lost at the hub: the attempts that applied v2 and v3 are both in its history, events in order.
  const detail = await hub.host(host);
  assertEventSeqs(await hub.events(host));
  const applied = detail.attempts.filter((a) => a.result === 'Succeeded').map((a) => a.revision);
  const [v2, v3] = [repo.git(['rev-parse', 'HEAD~1']), repo.git(['rev-parse', 'HEAD'])];
  assert.ok(applied.includes(v2), 'the attempt that applied v2 (clock an hour ahead) is in the hub\'s history');
  assert.ok(applied.includes(v3), `the attempt that applied v3 (clock stepped back) is in the hub's history; it has: ${detail.attempts.map((a) => `${a.revision.slice(0, 7)} ${a.result} ${a.startedAt}`).join(', ')}`);
});
