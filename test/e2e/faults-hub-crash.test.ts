// Fault: the hub is SIGKILLed while 1,000 simulated agents and one real agent
// report, and started again on the same data. Every agent must reconnect, every
// report the hub acked must be stored, and nothing may be stored twice: the
// test counts what the hub holds against what the agents sent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { requireComponent } from '../harness/require.ts';
import { dockerMissingReason } from '../harness/docker.ts';
import { WorkRepo, freePort, missingGitServer, tempDir } from '../harness/git-servers.ts';
import { AgentProcess, HubProcess, assertEventSeqs, bundleMissing, measured, projectDir, sleep, waitFor } from '../harness/faults.ts';

const SIMS = 1000;
const PER_AGENT = 24;
const EVERY_MS = 400;
const run = process.pid.toString(36);
const host = `gff-hub-${run}`;
const prefix = `gff-sim-${run}-`;
const work = tempDir('faults-hub');
const filesDir = join(work, 'files');
let hub: HubProcess | null = null;
let agent: AgentProcess | null = null;
let repo: WorkRepo | null = null;
let sims: ChildProcess | null = null;

after(async () => {
  sims?.kill('SIGKILL');
  await agent?.stop();
  await hub?.stop();
  repo?.dispose();
  rmSync(work, { recursive: true, force: true });
});

interface Counts {
  sims: number;
  welcomed: number;
  generated: number;
  acked: number;
  unacked: number;
  ackedThenLost: number;
  reconnects: number;
  generating: boolean;
}

interface LedgerEntry {
  id: string;
  events: number[];
  lastStatusSeq: number;
  lastSeq: number;
  acked: number;
  ackedThenLost: number;
}

/** One request to the simulator process, one answer (the first message carrying `key`). */
function ask<T>(key: string, cmd: Record<string, unknown>, timeoutMs = 30_000): Promise<T> {
  const child = sims!;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', on);
      reject(new Error(`the simulated agents did not answer ${String(cmd.cmd)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (m: Record<string, unknown>) => {
      if (m.error) {
        clearTimeout(timer);
        child.off('message', on);
        reject(new Error(String(m.error)));
      } else if (key in m) {
        clearTimeout(timer);
        child.off('message', on);
        resolve(m[key] as T);
      }
    };
    child.on('message', on);
    child.send(cmd);
  });
}

const counts = () => ask<Counts>('counts', { cmd: 'counts' });

function commit(version: string): string {
  const files = { [join(filesDir, 'app.conf')]: { content: `version = ${version}\n` } };
  const id = repo!.commit({ [`${host}/host.yaml`]: '', [`${host}/files.yaml`]: stringify({ files }) }, version);
  repo!.push();
  return id;
}

/** `fn` over `items`, `width` at a time. */
async function inBatches<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

test('hub SIGKILLed while 1,000 simulated agents and a real one report: all reconnect, every acked report stored once', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  if (!requireComponent(t, 'git', missingGitServer('daemon'))) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  mkdirSync(filesDir);
  repo = new WorkRepo(join(work, 'fleet.git'));
  const v1 = commit('v1');
  hub = new HubProcess({ dataDir: join(work, 'hub'), port: await freePort(), heartbeat: '5s', env: { GITFLEET_HUB_ENROLL_RATE_PER_TOKEN: String(2 * SIMS) } }); // a whole fleet enrolls within the minute
  await hub.start();
  agent = new AgentProcess({ repo: repo.bare, host, stateDir: join(work, 'state'), hub, interval: '2s', env: { GITFLEET_FILES_ALLOW: filesDir } });
  agent.start();
  await hub.convergedAt(host, v1, 60_000);

  // 1,000 simulated agents in their own process (well under its 20,000 open files).
  sims = fork(join(projectDir, 'test/harness/faults-sim-agents.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise((r) => sims!.once('message', r)); // its first message is {ready}
  sims.on('message', (m: Record<string, unknown>) => m.log && t.diagnostic(String(m.log)));
  await ready;
  await ask('started', { cmd: 'connect', url: hub.agentUrl, token: hub.enrollment, n: SIMS, prefix });
  const connectStarted = Date.now();
  await waitFor('every simulated agent welcomed', 60_000, async () => ((await counts()).welcomed === SIMS ? true : undefined), 250);
  t.diagnostic(`${SIMS} simulated agents enrolled and connected in ${Date.now() - connectStarted} ms`);

  // The stream: each agent reports PER_AGENT times; the hub dies part way through.
  await ask('running', { cmd: 'run', perAgent: PER_AGENT, everyMs: EVERY_MS });
  const expected = SIMS * PER_AGENT;
  const streamStarted = Date.now();
  // Mid-stream: a third acked and reports in flight (sent or queued, not yet acked) at that moment.
  const atKill = await waitFor('a third of the stream acked, more in flight', 60_000, async () => {
    const c = await counts();
    return c.acked >= expected / 3 && c.unacked > 0 ? c : undefined;
  }, 5);
  await hub.kill();
  const killedAt = Date.now();
  t.diagnostic(`killed ${killedAt - streamStarted} ms into the stream`);
  t.diagnostic(`hub SIGKILLed with ${atKill.acked} of ${expected} reports acked, ${atKill.unacked} in flight`);
  const v2 = commit('v2'); // the real agent applies it while the hub is away
  await sleep(3000);
  await hub.start();
  const restartedAt = Date.now();
  t.diagnostic(`hub down for ${restartedAt - killedAt} ms`);

  const agentBack = hub.convergedAt(host, v2, 60_000).then(() => Date.now() - restartedAt);
  const done = await waitFor('every simulated agent reconnected with every report acked', 90_000, async () => {
    const c = await counts();
    return !c.generating && c.unacked === 0 && c.welcomed === SIMS ? c : undefined;
  }, 100).catch(async (e: unknown) => {
    throw new Error(`${String(e)}; simulators say ${JSON.stringify(await counts())}`);
  });
  measured(t, `fault 4 (hub SIGKILLed under ${SIMS} simulated agents + 1 real): hub back → all ${SIMS} simulated agents reconnected and their whole stream acked`, Date.now() - restartedAt);
  measured(t, 'fault 4: hub back → the real agent converged at the revision it applied meanwhile, reported at the hub', await agentBack);
  t.diagnostic(`simulated agents: ${done.generated} reports generated, ${done.acked} acked, ${done.reconnects} reconnects`);
  assert.equal(done.generated, expected);
  assert.equal(done.ackedThenLost, 0, 'no report the hub acked was missing after its restart');

  // Count what the hub holds against what every agent sent.
  const ledger = await ask<LedgerEntry[]>('ledger', { cmd: 'ledger' });
  let eventsSent = 0;
  let eventsStored = 0;
  const problems: string[] = [];
  await inBatches(ledger, 20, async (l) => {
    const [events, detail] = await Promise.all([hub!.events(l.id), hub!.host(l.id) as Promise<{ status: { conditions: { message: string }[] } | null }>]);
    const stored = events.filter((e) => e.reason === 'SimEvent').map((e) => e.seq!).sort((a, b) => a - b);
    eventsSent += l.events.length;
    eventsStored += stored.length;
    if (JSON.stringify(stored) !== JSON.stringify(l.events)) problems.push(`${l.id}: sent events ${l.events.join(',')}, hub holds ${stored.join(',')}`);
    if (new Set(stored).size !== stored.length) problems.push(`${l.id}: duplicate events at the hub`);
    const latest = detail.status?.conditions[0]?.message;
    if (latest !== `seq ${l.lastStatusSeq}`) problems.push(`${l.id}: the hub's status is "${latest}", the last one sent was seq ${l.lastStatusSeq}`);
  });
  t.diagnostic(`events: ${eventsSent} sent by the simulated agents, ${eventsStored} stored at the hub`);
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} agent(s) differ`);
  assert.equal(eventsStored, eventsSent);

  // The real agent: its reports arrived in order, none twice, including those made while the hub was down.
  const real = await hub.events(host);
  assertEventSeqs(real);
  const whileDown = real.filter((e) => e.seq !== undefined && Date.parse(e.time) >= killedAt && Date.parse(e.time) < restartedAt);
  t.diagnostic(`the real agent: ${real.length} events at the hub, ${whileDown.length} of them made while the hub was down`);
  assert.ok(real.some((e) => e.seq !== undefined && e.resource === `file/${join(filesDir, 'app.conf')}` && Date.parse(e.time) >= killedAt), 'the event of applying the revision pushed while the hub was down reached it');
  assert.equal(readFileSync(join(filesDir, 'app.conf'), 'utf8'), 'version = v2\n');
  assert.equal(agent.exited, null);
  await ask('exit', { cmd: 'exit' }, 2000).catch(() => undefined);
});
