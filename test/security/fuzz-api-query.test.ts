// Property-based fuzzing of the API's query parameters against a real hub
// process: arbitrary strings, numbers, arrays (repeated parameters), unknown
// keys, raw bytes and broken percent-escapes on /api/v1/hosts and
// /api/v1/hosts/:id/events. Every answer must be 200 with the documented shape
// or 400 with the JSON error shape — never a 500, never a hang — and the hub
// must stay healthy. Deterministic: FUZZ_SEED picks the seed (printed on failure),
// FUZZ_RUNS the number of cases.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import fc from 'fast-check';
import { ADMIN, ENROLL, api, makeStatus, removeDir, startAgent, startHubProcess, tempDir, waitFor } from '../integration/hub-harness.ts';
import type { AgentProcess, HubProcess } from '../integration/hub-harness.ts';

const seed = Number(process.env.FUZZ_SEED ?? 20261130);
const numRuns = Number(process.env.FUZZ_RUNS ?? 400);
const dirs: string[] = [];
let hub: HubProcess;
let agent: AgentProcess;

before(async () => {
  const dataDir = tempDir('fuzz-query-hub');
  const stateDir = tempDir('fuzz-query-agent');
  dirs.push(dataDir, stateDir);
  hub = await startHubProcess({ dataDir });
  // One real host with a status and events, so queries reach the store too.
  agent = await startAgent({ hubUrl: hub.agentUrl, host: 'fuzz-01', stateDir, token: ENROLL, tags: ['prod'] });
  await waitFor('the agent to connect', () => agent.connected());
  agent.send({ status: makeStatus('fuzz-01', { sync: 'Drifted' }) });
  agent.send({ event: { reason: 'Applied', message: 'fuzz' } });
  await waitFor('the host to have events', async () => ((await api<{ events?: unknown[] }>(hub.url, '/api/v1/hosts/fuzz-01/events')).body.events?.length ?? 0) > 0);
});

after(async () => {
  await agent?.stop();
  await hub?.stop();
  dirs.forEach(removeDir);
});

interface Answer {
  status: number;
  body: string;
  ms: number;
}

/** GET exactly this path (no URL normalisation), on its own connection, bounded in time. */
function get(path: string, timeoutMs = 5000): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: hub.port, path, agent: false, headers: { authorization: `Bearer ${ADMIN}` }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms: GET ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

// ---------------------------------------------------------------- arbitraries

const known = ['tag', 'state', 'q', 'sort', 'order', 'offset', 'limit'];
/** Bytes Node lets into a request path unescaped (0x21–0xff but #, which would end it). */
const rawChar = fc.integer({ min: 0x21, max: 0xff }).filter((c) => c !== 0x23 && c !== 0x26 && c !== 0x3d).map((c) => String.fromCharCode(c));
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double().map(String),
  fc.bigInt().map(String),
  fc.constantFrom('0', '-0', '1e400', '-1', '500', '501', '1000', '1001', 'NaN', 'Infinity', '0x10', '1_0', ' 5', '5 ', '', '9007199254740993', '1.5', '+1', '٣'),
);
const wordText = fc.constantFrom('id', 'sync', 'connectivity', 'place', 'lastSeenAt', 'asc', 'desc', 'Drifted,Failed', 'Online', ',,,', 'Drifted,Bogus', 'prod', 'prod/eu', '__proto__', 'constructor', 'toString');
/** One query value, already in the form it takes in a path. */
const value = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }).map(encodeURIComponent),
  fc.string({ unit: rawChar, maxLength: 32 }),
  numberText.map(encodeURIComponent),
  wordText.map(encodeURIComponent),
  fc.constantFrom('%', '%zz', '%c3%28', '%ff%fe', '%00', '%E2%80%AE', '%5B%5D', '[]', 'a[b]=c'),
  fc.string({ maxLength: 600 }).map((s) => encodeURIComponent(s.repeat(3))), // over the length limits
);
const key = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.string({ unit: rawChar, minLength: 1, maxLength: 12 }) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'limit[]', 'state[0]', 'constructor') });
/** key=value pairs; repeats make arrays; a bare key has no '='. */
const query = fc.array(fc.tuple(key, fc.option(value, { nil: undefined })), { maxLength: 8 }).map((pairs) => pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&'));

const errorShape = (body: string): boolean => {
  const v = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
  return Object.keys(v).length === 1 && typeof v.error?.code === 'string' && typeof v.error.message === 'string' && Object.keys(v.error).length === 2;
};

function checkAnswer(path: string, a: Answer, ok: (body: unknown) => boolean): void {
  assert.ok(a.status === 200 || a.status === 400, `GET ${path} answered ${a.status}: ${a.body.slice(0, 300)}`);
  if (a.status === 400) assert.ok(errorShape(a.body), `GET ${path}: 400 without the error shape: ${a.body.slice(0, 300)}`);
  else assert.ok(ok(JSON.parse(a.body)), `GET ${path}: 200 without the documented shape: ${a.body.slice(0, 300)}`);
}

/**
 * A query the hub is slow to answer is asked once more: a loaded machine can stall the hub for a moment on
 * any query, while one that is slow to compute is slow again.
 */
async function checkPrompt(path: string, a: Answer): Promise<void> {
  if (a.ms < 2000) return;
  const again = await get(path);
  assert.ok(again.ms < 2000, `GET ${path} took ${a.ms.toFixed(0)} ms, then ${again.ms.toFixed(0)} ms`);
}

async function fuzz(t: { diagnostic(m: string): void }, name: string, property: fc.IAsyncProperty<[string]>): Promise<void> {
  const started = performance.now();
  t.diagnostic(`${name}: seed ${seed}, ${numRuns} cases (FUZZ_SEED=${seed} FUZZ_RUNS=${numRuns} to rerun)`);
  // endOnFailure: shrinking against a live process takes long; the failing case and seed are printed as found.
  // A case's timeout leaves room for a slow answer asked once more (checkPrompt), each bounded by get().
  await fc.assert(property, { seed, numRuns, endOnFailure: true, timeout: 20_000, includeErrorInReport: true });
  const health = await get('/healthz');
  assert.equal(health.status, 200);
  t.diagnostic(`${name}: ${numRuns} cases in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

test('GET /api/v1/hosts?…: any query answers 200 or 400 (JSON error), never 500, never a hang', async (t) => {
  const shape = (b: unknown) => {
    const v = b as { total?: unknown; offset?: unknown; limit?: unknown; hosts?: unknown };
    return typeof v.total === 'number' && typeof v.offset === 'number' && typeof v.limit === 'number' && Array.isArray(v.hosts);
  };
  await fuzz(
    t,
    'hosts query',
    fc.asyncProperty(query, async (q) => {
      const path = `/api/v1/hosts?${q}`;
      const a = await get(path);
      checkAnswer(path, a, shape);
      await checkPrompt(path, a);
    }),
  );
});

test('GET /api/v1/hosts/:id/events?…: any query (and host id) answers 200, 400 or 404, never 500', async (t) => {
  const id = fc.oneof({ weight: 4, arbitrary: fc.constant('fuzz-01') }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent) });
  await fuzz(
    t,
    'events query',
    fc.asyncProperty(fc.tuple(id, query).map(([h, q]) => `/api/v1/hosts/${h}/events?${q}`), async (path) => {
      const a = await get(path);
      // An unknown host id is a 404 with the same error shape.
      if (a.status === 404) {
        assert.ok(errorShape(a.body), `GET ${path}: 404 without the error shape: ${a.body.slice(0, 300)}`);
        return;
      }
      checkAnswer(path, a, (b) => Array.isArray((b as { events?: unknown }).events));
      await checkPrompt(path, a);
    }),
  );
});

test('the fuzzer catches a 500: a property over a route that fails is refuted', async () => {
  // Guards the harness itself: the same checks on an answer a broken route would give.
  await assert.rejects(
    fc.assert(
      fc.asyncProperty(query, async (q) => checkAnswer(`/api/v1/hosts?${q}`, { status: 500, body: '{"error":{"code":"INTERNAL","message":"internal error"}}', ms: 1 }, () => true)),
      { seed, numRuns: 5, includeErrorInReport: true },
    ),
    /answered 500/,
  );
});
