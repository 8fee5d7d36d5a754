// Cost of secrets (docs/secrets.md), each against a plaintext baseline measured
// in the same run:
// 1. one host's evaluation (loadDesiredState) with 100 encrypted layer files
//    (5 secret vars and one secret file each) vs. the same 100 files in plaintext:
//    the decrypt cost per revision;
// 2. the idle agent daemon's RSS (the bundled CLI, as in bench/containers.ts)
//    converging 10 files whose content comes from an encrypted layer vs. plaintext.
//   node --import tsx bench/secrets.ts [--runs 21] [--idle 30]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { createIdentityFile, readIdentityFile } from '../repo/secrets/age-key.ts';
import { encryptSops, GITFLEET_ENCRYPTED_REGEX } from '../repo/secrets/sops.ts';
import { loadDesiredState } from '../repo/tree/index.ts';
import { WorkRepo } from '../test/harness/git-servers.ts';
import { median } from './stats.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '21' }, idle: { type: 'string', default: '30' } } });
const runs = Number(values.runs);
const idleSeconds = Number(values.idle);
const rules = { encryptedRegex: GITFLEET_ENCRYPTED_REGEX };

function layer(i: number, filesDir: string): Record<string, unknown> {
  const vars = Object.fromEntries(Array.from({ length: 5 }, (_, v) => [`s${i}_${v}`, `secret-value-${i}-${v}-${'x'.repeat(24)}`]));
  return { vars, files: { [join(filesDir, `f${i}.env`)]: { content: `TOKEN=\${s${i}_0}\nPASSWORD=\${s${i}_1}\n`, mode: '0600' } } };
}

async function writeTree(root: string, count: number, recipient: string | null, filesDir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = { 'bench/host.yaml': '' };
  for (let i = 0; i < count; i++) {
    const l = layer(i, filesDir);
    files[recipient ? `bench/s${i}.sops.yaml` : `bench/s${i}.yaml`] = recipient ? await encryptSops(l, [recipient], rules) : stringify(l);
  }
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return files;
}

async function evaluation(dir: string, keyFile: string): Promise<{ encrypted: number; plain: number }> {
  const recipient = (await readIdentityFile(keyFile)).recipients[0]!;
  const enc = join(dir, 'enc');
  const plain = join(dir, 'plain');
  await writeTree(enc, 100, recipient, '/srv/bench');
  await writeTree(plain, 100, null, '/srv/bench');
  const keys = await readIdentityFile(keyFile);
  const time = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  // Warm up both (module loading, JIT), then alternate so load on the machine hits both alike.
  await loadDesiredState(enc, { host: 'bench', keys });
  await loadDesiredState(plain, { host: 'bench' });
  const e: number[] = [];
  const p: number[] = [];
  for (let r = 0; r < runs; r++) {
    e.push(await time(() => loadDesiredState(enc, { host: 'bench', keys })));
    p.push(await time(() => loadDesiredState(plain, { host: 'bench' })));
  }
  return { encrypted: median(e), plain: median(p) };
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

async function idle(dir: string, keyFile: string, encrypted: boolean): Promise<{ median: number; peak: number }> {
  const work = join(dir, encrypted ? 'idle-enc' : 'idle-plain');
  const filesDir = join(work, 'files');
  mkdirSync(filesDir, { recursive: true });
  const repo = new WorkRepo(join(work, 'fleet.git'));
  const recipient = (await readIdentityFile(keyFile)).recipients[0]!;
  const files: Record<string, string> = { 'bench/host.yaml': '' };
  for (let i = 0; i < 10; i++) files[encrypted ? `bench/s${i}.sops.yaml` : `bench/s${i}.yaml`] = encrypted ? await encryptSops(layer(i, filesDir), [recipient], rules) : stringify(layer(i, filesDir));
  repo.commit(files, 'bench');
  repo.push();
  const root = resolve(import.meta.dirname, '..');
  const child = spawn(process.execPath, ['--optimize-for-size', '--max-semi-space-size=1', join(root, 'dist/gitfleet.mjs'), 'agent', '--repo', repo.bare, '--host', 'bench', '--state-dir', join(work, 'state'), '--files-allow', filesDir], {
    stdio: 'ignore',
    env: { ...process.env, GITFLEET_AGE_IDENTITY_FILE: keyFile, GITFLEET_POLICY: join(work, 'no-policy.yaml') },
  });
  try {
    await new Promise((r) => setTimeout(r, 10_000)); // first converge, health settle, first GCs
    const samples: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < idleSeconds * 1000) {
      samples.push(rssKiB(child.pid!));
      await new Promise((r) => setTimeout(r, 1000));
    }
    const written = readFileSync(join(filesDir, 'f0.env'), 'utf8');
    if (!written.startsWith('TOKEN=secret-value-0-0-')) throw new Error(`the agent did not converge the files (${encrypted ? 'encrypted' : 'plain'})`);
    return { median: median(samples) / 1024, peak: Math.max(...samples) / 1024 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    repo.dispose();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gf-bench-secrets-'));
try {
  const keyFile = join(dir, 'age.key');
  await createIdentityFile(keyFile);
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${runs} runs each`);
  const ev = await evaluation(dir, keyFile);
  console.log(`evaluate one host with 100 encrypted layer files (500 secret vars, 100 secret files): median ${ev.encrypted.toFixed(1)} ms; same files in plaintext ${ev.plain.toFixed(1)} ms; decrypt cost per revision ${(ev.encrypted - ev.plain).toFixed(1)} ms (${(ev.encrypted / ev.plain).toFixed(2)}×)`);
  if (idleSeconds > 0) {
    const plain = await idle(dir, keyFile, false);
    const enc = await idle(dir, keyFile, true);
    console.log(`idle agent daemon, 10 files over ${idleSeconds}s: secrets from an encrypted layer RSS median ${enc.median.toFixed(1)} MiB (peak ${enc.peak.toFixed(1)}); plaintext ${plain.median.toFixed(1)} MiB (peak ${plain.peak.toFixed(1)})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
