// Runs every test layer with node's test runner and one spec report (its summary is what CI reads).
// Layers: unit → component → contract → security → integration → e2e. `--layers a,b` picks some.
//
// The unit and component layers (in-process, no real component to share) run two files at a time.
// From the contract layer on, files run one at a time (2 cores: the real-component tests measure time
// and memory, and two of them at once would make each other flaky) — except the few in WAITING_LANE.
// Those spend minutes idle, waiting out a network outage they impose on purpose, so they run in a
// second lane beside the others, started first. Every lane reports into the same spec output, and the
// summary adds them up.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const all = ['unit', 'component', 'contract', 'security', 'integration', 'e2e'];
const arg = process.argv.indexOf('--layers');
const layers = arg > 0 ? process.argv[arg + 1].split(',') : all;

// Mostly waiting: a two-minute link cut and a one-minute outage (with 500 ms latency around it).
const WAITING_LANE = ['test/e2e/faults-network-cut.test.ts', 'test/integration/edge-flaky-link.test.ts'];

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return find(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

const files = layers.flatMap((layer) => find(join('test', layer)));
if (files.length === 0) {
  console.error(`no test files found in layers ${layers.join(', ')}`);
  process.exit(1);
}
if (!process.execArgv.some((a) => a.includes('tsx'))) {
  // The runner gives each test process this process's node options: tsx must be among them.
  console.error('run me as: node --import tsx scripts/test.mjs');
  process.exit(1);
}
const IN_PROCESS = new Set(['unit', 'component']);
const inProcess = (f) => IN_PROCESS.has(f.split('/')[1]); // test/LAYER/…
const main = files.filter((f) => !WAITING_LANE.includes(f));
// A lane is a list of phases run one after the other: [files, how many at a time].
const lanes = [
  [[files.filter((f) => WAITING_LANE.includes(f)), 1]],
  [
    [main.filter(inProcess), 2],
    [main.filter((f) => !inProcess(f)), 1],
  ],
]
  .map((phases) => phases.filter(([phaseFiles]) => phaseFiles.length > 0))
  .filter((phases) => phases.length > 0);

// Each lane's runner ends with its own summary (diagnostics "tests N", "pass N", …); they are held
// back and one summary with the sums is written after the last lane.
const SUMMARY = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\d+(?:\.\d+)?)$/;
const totals = new Map();
const started = performance.now();
const events = new PassThrough({ objectMode: true });
let open = lanes.length;
function runPhases([[phaseFiles, concurrency], ...rest]) {
  const stream = run({ files: phaseFiles, concurrency });
  stream.on('data', (event) => {
    const m = event.type === 'test:diagnostic' && event.data.nesting === 0 ? SUMMARY.exec(event.data.message) : null;
    if (m) totals.set(m[1], (totals.get(m[1]) ?? 0) + Number(m[2]));
    else events.write(event);
  });
  stream.on('end', () => {
    if (rest.length > 0) return runPhases(rest);
    if (--open > 0) return;
    totals.set('duration_ms', performance.now() - started);
    for (const [name, value] of totals) {
      events.write({ type: 'test:diagnostic', data: { nesting: 0, message: `${name} ${name === 'duration_ms' ? value.toFixed(3) : value}` } });
    }
    events.end();
    const failed = (totals.get('fail') ?? 0) > 0 || (totals.get('cancelled') ?? 0) > 0 || !totals.has('tests');
    if (failed) process.exitCode = 1;
  });
}
for (const phases of lanes) runPhases(phases);
events.compose(spec).pipe(process.stdout);
