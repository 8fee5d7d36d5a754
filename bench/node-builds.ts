// What the choice of Node.js build costs an agent host: the same agent bundle
// (dist/) and a bare `node` run side by side under two builds of Node.js 20 —
// the one on this machine (the Node.js project's own static binary, as
// nodejs.org and NodeSource ship it) and Debian 13's `nodejs` package (what
// `apt install nodejs` gives on Debian and on arm64 boards running it), the
// latter in a Debian 13 tree on this machine (chroot; built once with
// mmdebstrap and cached). Both with the node flags of the agent's unit; the
// agent keeps 3 containers (the real engine) and 5 files of a directory
// repository converged, with no hub. Prints each build's RSS medians, the
// agent's memory above its bare node, and where the resident memory is.
//   npm run build && node --import tsx bench/node-builds.ts [--idle 60] [--runs 2]
import { parseArgs } from 'node:util';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Dockerode from 'dockerode';
import { median } from './stats.ts';
import { procStats, residentByKind } from './resident.ts';
import { dockerMissingReason, TEST_IMAGE } from '../test/harness/docker.ts';
import { tempDir } from '../test/harness/git-servers.ts';
import { sleep } from '../test/e2e/fleet-support.ts';

const root = resolve(import.meta.dirname, '..');
const cache = process.env.GITFLEET_TEST_CACHE ?? '/var/cache/gitfleet-test';
const TREE = join(cache, 'trixie-node');
const RECIPE = 'v1 trixie amd64 minbase nodejs,git,ca-certificates';
const PREFIX = 'gfnb-';
const unitFlags = /^ExecStart=node (.*?) \/usr\/lib\/gitfleet\/gitfleet\.mjs agent/m.exec(readFileSync(join(root, 'packaging/systemd/gitfleet-agent.service'), 'utf8'))?.[1];
if (!unitFlags) throw new Error('packaging/systemd/gitfleet-agent.service has no "ExecStart=node FLAGS /usr/lib/gitfleet/gitfleet.mjs agent" line');
const FLAGS = unitFlags.split(/\s+/);

/** The Debian 13 tree with its nodejs and git, built when the recipe changed (≈15 s and ≈250 MB with a local mirror). */
function debianTree(): string {
  const stamp = join(TREE, '.gitfleet-tree');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === RECIPE) return TREE;
  rmSync(TREE, { recursive: true, force: true });
  console.log(`building ${TREE} (mmdebstrap, Debian 13 with nodejs and git)…`);
  try {
    execFileSync('mmdebstrap', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('needs mmdebstrap to build the Debian 13 tree: apt-get install mmdebstrap (test/env/provision.sh installs it)');
  }
  execFileSync('mmdebstrap', ['--mode=root', '--variant=minbase', '--include=nodejs,git,ca-certificates', 'trixie', TREE, 'http://deb.debian.org/debian'], { stdio: ['ignore', 'ignore', 'inherit'] });
  writeFileSync(stamp, RECIPE);
  return TREE;
}

/**
 * A command run in the Debian tree, in a mount namespace of its own (so the
 * bind mounts go with it): the given paths bound at the same place, /proc
 * mounted. `unshare` and `chroot` exec in place, so the pid is node's.
 */
function inTree(tree: string, binds: string[], argv: string[]): ChildProcess {
  const script = 'set -e; t=$1; shift; while [ "$1" != -- ]; do if [ -d "$1" ]; then mkdir -p "$t$1"; else mkdir -p "$t$(dirname "$1")"; : > "$t$1"; fi; mount --bind "$1" "$t$1"; shift; done; shift; mount -t proc proc "$t/proc"; exec chroot "$t" "$@"';
  return spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', tree, ...binds, '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Build {
  name: string;
  run(argv: string[], binds: string[]): ChildProcess;
}

function writeFleet(dir: string, out: string): void {
  const host = join(dir, 'h1');
  mkdirSync(host, { recursive: true });
  const files = Array.from({ length: 5 }, (_, i) => `  ${join(out, `file-${i}.conf`)}: { content: "setting = ${i}\\n" }`);
  const containers = Array.from({ length: 3 }, (_, i) => `  ${PREFIX}${i}: { image: '${TEST_IMAGE}', command: [sleep, '3600'], init: true, network: none }`);
  writeFileSync(join(host, 'host.yaml'), `files:\n${files.join('\n')}\ncontainers:\n${containers.join('\n')}\n`);
}

async function removeContainers(docker: Dockerode): Promise<void> {
  for (const c of await docker.listContainers({ all: true })) {
    if (c.Names.some((n) => n.startsWith(`/${PREFIX}`))) await docker.getContainer(c.Id).remove({ force: true });
  }
}

async function waitForLine(proc: ChildProcess, pattern: RegExp, ms: number, what: string): Promise<void> {
  let seen = '';
  await new Promise<void>((resolveWait, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no "${pattern.source}" in ${ms / 1000} s; output:\n${seen.slice(-2000)}`)), ms);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolveWait();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`${what} exited (${code}) before "${pattern.source}"; output:\n${seen.slice(-2000)}`)));
  });
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

interface Measured {
  agentMiB: number;
  bareMiB: number;
  agentKinds: Record<string, number>;
  bareKinds: Record<string, number>;
  node: string;
}

async function measure(build: Build, idleSeconds: number, docker: Dockerode): Promise<Measured> {
  const work = tempDir('node-builds');
  const fleet = join(work, 'fleet');
  const out = join(work, 'out');
  const state = join(work, 'state');
  mkdirSync(out);
  mkdirSync(state);
  writeFleet(fleet, out);
  await removeContainers(docker);
  const dist = join(root, 'dist');
  // /run/docker.sock, not /var/run/…: the tree's /var/run is a symlink to /run, which bind paths must not go through.
  const binds = [work, dist, '/run/docker.sock'];
  const describe = build.run(['node', '-p', "const v = process.config.variables; `${process.version}, ${v.node_shared ? 'shared libnode' : 'static binary'}, startup snapshot ${v.node_use_node_snapshot ? 'yes' : 'no'}`"], binds);
  let node = '';
  describe.stdout!.on('data', (c: Buffer) => (node += c.toString()));
  await new Promise((r) => describe.once('exit', r));
  const agent = build.run(['node', ...FLAGS, join(dist, 'gitfleet.mjs'), 'agent', '--repo', fleet, '--host', 'h1', '--state-dir', state, '--files-allow', out], binds);
  const bare = build.run(['node', ...FLAGS, '-e', 'setInterval(() => {}, 1 << 30)'], binds);
  try {
    await waitForLine(agent, /"msg":"reconcile finished"/, 120_000, `the agent under ${build.name}`);
    await sleep(15_000); // past the first pass's garbage
    const agentSamples: number[] = [];
    const bareSamples: number[] = [];
    for (let s = 0; s < idleSeconds; s++) {
      await sleep(1000);
      agentSamples.push(procStats(agent.pid!).rssKiB);
      bareSamples.push(procStats(bare.pid!).rssKiB);
    }
    return { agentMiB: median(agentSamples) / 1024, bareMiB: median(bareSamples) / 1024, agentKinds: residentByKind(agent.pid!), bareKinds: residentByKind(bare.pid!), node: node.trim() };
  } finally {
    await stop(agent);
    await stop(bare);
    await removeContainers(docker);
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { idle: { type: 'string', default: '60' }, runs: { type: 'string', default: '2' } } });
  const idle = Number(values.idle);
  const runs = Number(values.runs);
  if (!existsSync(join(root, 'dist/gitfleet.mjs'))) throw new Error('no dist/gitfleet.mjs: run `npm run build` first');
  const missing = await dockerMissingReason();
  if (missing) throw new Error(`needs a Docker engine: ${missing}`);
  const docker = new Dockerode();
  const tree = debianTree();
  const builds: Build[] = [
    { name: `this machine's node (${process.execPath})`, run: (argv) => spawn(argv[0] === 'node' ? process.execPath : argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }) },
    { name: "Debian 13's nodejs package", run: (argv, binds) => inTree(tree, binds, argv) },
  ];
  const results = new Map<string, Measured[]>(builds.map((b) => [b.name, []]));
  for (let r = 0; r < runs; r++) {
    for (const build of builds) {
      const m = await measure(build, idle, docker);
      results.get(build.name)!.push(m);
      console.log(`run ${r + 1}, ${build.name} [${m.node}]: agent ${m.agentMiB.toFixed(1)} MiB, bare node ${m.bareMiB.toFixed(1)} MiB, agent above bare node ${(m.agentMiB - m.bareMiB).toFixed(1)} MiB, ratio ${(m.agentMiB / m.bareMiB).toFixed(2)}×`);
      for (const kind of Object.keys(m.agentKinds)) console.log(`    ${kind.padEnd(36)} agent ${(m.agentKinds[kind]! / 1024).toFixed(1).padStart(5)} MiB, bare node ${(m.bareKinds[kind]! / 1024).toFixed(1).padStart(5)} MiB`);
    }
  }
  console.log(`\nnode flags (the agent unit's): ${FLAGS.join(' ')}; ${idle} s sampled per run, ${runs} runs per build, alternated`);
  for (const build of builds) {
    const ms = results.get(build.name)!;
    const agent = median(ms.map((m) => m.agentMiB));
    const bare = median(ms.map((m) => m.bareMiB));
    console.log(`${build.name.padEnd(60)} agent ${agent.toFixed(1)} MiB, bare node ${bare.toFixed(1)} MiB, above bare ${(agent - bare).toFixed(1)} MiB`);
  }
}

await main();
