// Runs the gitfleet command as a user does: a separate Node process on the
// sources (the same code the bundle is built from), with its own environment,
// stdin and a time limit, so a hang fails the test instead of stalling it.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const cliEntry = resolve(repoRoot, 'cli/main.ts');
/** tsx by its file URL: a command run from another directory (or as another user) finds it all the same. */
const tsx = import.meta.resolve('tsx');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function gitfleet(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; uid?: number; gid?: number } = {}): Promise<CliResult> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', tsx, cliEntry, ...args], {
      cwd: o.cwd ?? repoRoot,
      env: { ...process.env, NO_COLOR: '1', GITFLEET_CONFIG_DIR: '/nonexistent/gitfleet-test-config', ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(o.uid === undefined ? {} : { uid: o.uid }),
      ...(o.gid === undefined ? {} : { gid: o.gid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(o.input ?? '');
  });
}
