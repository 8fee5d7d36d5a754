// Benchmark: the Git source against a fleet repository with 10,000 host
// directories and 1,000 commits of history, served over smart HTTP on
// loopback (bytes counted at the server). Baseline, measured side by side in
// the same run: a plain full `git clone` and `git pull`.
//   node --import tsx bench/git-sync.ts [--hosts 10000] [--commits 1000] [--rounds 10]
import { spawn, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { GitSource } from '../repo/git/index.ts';
import { HttpGitServer, tempDir } from '../test/harness/git-servers.ts';
import { median } from './stats.ts';

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '10000' }, commits: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '10' } } });
const hosts = Number(values.hosts);
const commits = Number(values.commits);
const rounds = Number(values.rounds);

const root = tempDir('bench-git');
const bare = join(root, 'srv', 'fleet.git');
const gitEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
const hostPath = (i: number) => `fleet/${['prod', 'staging', 'lab'][i % 3]}/${['eu', 'us', 'ap'][Math.floor(i / 3) % 3]}/web-${String(i).padStart(5, '0')}`;
let clock = 1_700_000_000;
let marks = 0;

function fastImport(stream: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', bare, 'fast-import', '--quiet'], { env: gitEnv, stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`fast-import exited ${code}`))));
    child.stdin.end(stream);
  });
}

function data(text: string): string {
  return `data ${Buffer.byteLength(text)}\n${text}\n`;
}

/** `from`: null for the root commit, else a mark (":3") or a ref expression. */
function commitBlock(message: string, changes: string, from: string | null): string {
  clock += 60;
  return `commit refs/heads/main\nmark :${++marks}\ncommitter Bench <bench@example.test> ${clock} +0000\n${data(message)}${from === null ? '' : `from ${from}\n`}${changes}`;
}

function hostFile(i: number, rev: number): string {
  return `tags: [${i % 7 === 0 ? 'gpu' : 'web'}]\nvars:\n  rev: ${rev}\n  id: web-${i}\n`;
}

async function generate(): Promise<void> {
  execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare], { env: gitEnv });
  const parts: string[] = [];
  let first = 'M 644 inline fleet/base.yaml\n' + data('files:\n  /etc/motd:\n    content: "managed"\n');
  for (let i = 0; i < hosts; i++) first += `M 644 inline ${hostPath(i)}/host.yaml\n${data(hostFile(i, 0))}`;
  parts.push(commitBlock('initial fleet', first, null));
  for (let c = 1; c < commits; c++) {
    let changes = '';
    for (let k = 0; k < 3; k++) {
      const i = (c * 7919 + k * 104729) % hosts;
      changes += `M 644 inline ${hostPath(i)}/host.yaml\n${data(hostFile(i, c))}`;
    }
    parts.push(commitBlock(`change ${c}`, changes, `:${marks}`));
  }
  await fastImport(parts.join(''));
  execFileSync('git', ['-C', bare, 'repack', '-a', '-d', '-q'], { env: gitEnv });
}

async function pushOneCommit(n: number): Promise<void> {
  const i = (n * 31) % hosts;
  await fastImport(commitBlock(`bench change ${n}`, `M 644 inline ${hostPath(i)}/host.yaml\n${data(hostFile(i, 100_000 + n))}`, 'refs/heads/main^0'));
}

function du(path: string): number {
  return Number(execFileSync('du', ['-sk', path], { encoding: 'utf8' }).split('\t')[0]) * 1024;
}


async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await work();
  return { ms: performance.now() - t0, result };
}

function git(args: string[], cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', cwd ? ['-C', cwd, ...args] : args, { env: gitEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += String(d); });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`git ${args[0]} failed: ${err}`))));
  });
}

const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function main(): Promise<void> {
  const g = await timed(generate);
  console.log(`generated ${hosts} hosts, ${commits} commits in ${ms(g.ms)}; server repo ${mb(du(bare))}`);
  const server = new HttpGitServer({ root: join(root, 'srv') });
  await server.start();
  const url = server.url('fleet.git');
  try {
    // --- first sync vs a full clone, side by side
    const cacheDir = join(root, 'cache');
    const src = new GitSource({ repo: url, ref: 'main', path: 'fleet' }, { cacheDir, timeoutMs: 120_000, logger: pino({ level: process.env.BENCH_LOG ?? 'silent' }) });
    server.resetCounters();
    const first = await timed(() => src.sync({ lastApplied: null }));
    const firstBytes = server.bytesTransferred();
    const clonePath = join(root, 'full-clone');
    server.resetCounters();
    const clone = await timed(() => git(['clone', '--quiet', url, clonePath]));
    const cloneBytes = server.bytesTransferred();
    console.log('\nfirst sync                 gitfleet (shallow + snapshot)   full git clone (baseline)');
    console.log(`  wall time                ${ms(first.ms).padEnd(32)}${ms(clone.ms)}`);
    console.log(`  bytes transferred        ${mb(firstBytes).padEnd(32)}${mb(cloneBytes)}`);
    console.log(`  disk: repository         ${mb(du(join(cacheDir, 'repo.git'))).padEnd(32)}${mb(du(join(clonePath, '.git')))}`);
    console.log(`  disk: tree               ${mb(du(join(cacheDir, 'snapshots'))).padEnd(32)}${mb(du(clonePath) - du(join(clonePath, '.git')))}`);
    console.log(`  commits held locally     ${execFileSync('git', ['--git-dir', join(cacheDir, 'repo.git'), 'rev-list', '--count', first.result.revision], { env: gitEnv, encoding: 'utf8' }).trim().padEnd(32)}${execFileSync('git', ['-C', clonePath, 'rev-list', '--count', 'HEAD'], { env: gitEnv, encoding: 'utf8' }).trim()}`);

    // --- no-op poll
    let last = first.result.revision;
    const pollMs: number[] = [];
    const pollBytes: number[] = [];
    const noopSyncMs: number[] = [];
    const baselineFetchMs: number[] = [];
    let pollRequests = '';
    for (let r = 0; r < rounds; r++) {
      server.resetCounters();
      const p = await timed(() => src.remoteRevision());
      pollBytes.push(server.bytesTransferred());
      pollMs.push(p.ms);
      pollRequests = server.requests.join(', ');
      if (p.result !== last) throw new Error('the remote moved during the no-op poll');
      noopSyncMs.push((await timed(() => src.sync({ lastApplied: last }))).ms);
      baselineFetchMs.push((await timed(() => git(['fetch', '--quiet', 'origin'], clonePath))).ms);
    }
    console.log(`\nno-op poll (remote unchanged), median of ${rounds}`);
    console.log(`  remoteRevision()         ${ms(median(pollMs))}, ${kb(median(pollBytes))} on the wire (${pollRequests})`);
    console.log(`  sync() when unchanged    ${ms(median(noopSyncMs))}`);
    console.log(`  baseline: git fetch      ${ms(median(baselineFetchMs))}   ratio ${(median(pollMs) / median(baselineFetchMs)).toFixed(2)}`);

    // --- incremental: one new commit
    const incMs: number[] = [];
    const incBytes: number[] = [];
    const pullMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      await pushOneCommit(r);
      server.resetCounters();
      const inc = await timed(async () => {
        const head = await src.remoteRevision();
        if (head === last) throw new Error('the new commit is not visible');
        return src.sync({ lastApplied: last });
      });
      incBytes.push(server.bytesTransferred());
      incMs.push(inc.ms);
      await src.prune([inc.result.revision, last]);
      last = inc.result.revision;
      pullMs.push((await timed(() => git(['pull', '--quiet', '--ff-only'], clonePath))).ms);
    }
    console.log(`\nincremental: poll + sync after one new commit, median of ${rounds}`);
    console.log(`  gitfleet                 ${ms(median(incMs))}, ${kb(median(incBytes))} on the wire`);
    console.log(`  baseline: git pull       ${ms(median(pullMs))}   ratio ${(median(incMs) / median(pullMs)).toFixed(2)}`);
    console.log(`\ngoals: no-op poll <= 100 ms and a few KB: ${median(pollMs) <= 100 && median(pollBytes) < 8192 ? 'met' : 'NOT met'}; incremental <= 500 ms: ${median(incMs) <= 500 ? 'met' : 'NOT met'}; first sync fetches less than a full clone: ${firstBytes < cloneBytes ? 'met' : 'NOT met'}`);
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
