// Runs git against the source's own repository — argument vectors, never a
// shell — with an explicit environment, a silence timeout, and failures turned
// into GitfleetErrors whose messages carry no secrets. Spawned directly: the
// agent runs git on every poll, and simple-git (which this replaced) cost the
// idle daemon its ~190 KB of code in memory, a plugin chain built per command
// and a 50 ms wait after a git that printed nothing (docs/edge.md, "Footprint").
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { GitfleetError, messageOf } from '../../shared/errors.ts';
import { classifyGitFailure, scrubGitOutput } from './classify-failure.ts';
import { monotonicMs } from '../../shared/monotonic.ts';

export interface RunOptions {
  /** The full environment for this command (see git-env.ts). */
  env: Record<string, string>;
  /** Values to scrub from any error message. */
  secrets?: readonly string[];
  /** For messages: "fetch main from https://host/x". */
  what: string;
  /** Kill git when it prints nothing for this long. */
  timeoutMs?: number;
}

export class GitRunner {
  readonly #cwd: string;
  readonly #gitDir: string;
  readonly #logger: Logger | undefined;
  readonly #timeoutMs: number;

  constructor(options: { cwd: string; gitDir: string; logger?: Logger; timeoutMs?: number }) {
    this.#cwd = options.cwd;
    this.#gitDir = options.gitDir;
    this.#logger = options.logger;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  async run(args: string[], options: RunOptions): Promise<string> {
    // GIT_DIR pins the repository: git never walks up into a parent repository,
    // even when ours is damaged.
    const env: Record<string, string> = { GIT_DIR: this.#gitDir, ...options.env };
    const started = monotonicMs();
    let result: GitResult;
    try {
      result = await runGit(args, { cwd: this.#cwd, env, silenceMs: options.timeoutMs ?? this.#timeoutMs });
    } catch (error) {
      result = { code: -1, stdout: '', stderr: messageOf(error) };
    }
    // As git's callers always read it: a failure is a non-zero exit that said why on stderr; a
    // silent non-zero exit (merge-base without a common ancestor) is an answer, read from stdout.
    if (result.code === 0 || result.stderr === '') {
      this.#logger?.debug({ git: args[0], ms: Math.round(monotonicMs() - started) }, 'git');
      return result.stdout;
    }
    const text = `${result.stdout}${result.stderr}`;
    const code = classifyGitFailure(text);
    const detail = scrubGitOutput(text, options.secrets ?? []);
    // The cause is kept, scrubbed: git's own text can echo a URL or a header.
    const cause = new Error(scrubGitOutput(text, options.secrets ?? [], 100));
    throw new GitfleetError(code, `${options.what} failed: ${detail || 'git exited with an error'}`, { cause });
  }
}

interface GitResult {
  /** Exit code; -1 when git could not run or was killed. */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * One git process. `silenceMs`: killed once it has printed nothing (stdout or
 * stderr) for that long — a slow fetch that keeps printing progress lives on,
 * a stalled one does not; the stderr then says "block timeout reached", which
 * classify-failure.ts reads as GIT_UNREACHABLE.
 */
function runGit(args: string[], o: { cwd: string; env: Record<string, string>; silenceMs: number }): Promise<GitResult> {
  return new Promise((resolve) => {
    const child = spawn('git', args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let failure: string | null = null;
    let timer: NodeJS.Timeout | null = null;
    const quiet = () => {
      failure = `git printed nothing for ${o.silenceMs} ms: block timeout reached`;
      child.kill();
    };
    const heard = () => {
      if (timer) clearTimeout(timer);
      timer = o.silenceMs > 0 ? setTimeout(quiet, o.silenceMs) : null;
    };
    heard();
    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      heard();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      heard();
    });
    let done = false;
    const finish = (code: number | null) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      const err = Buffer.concat(stderr).toString('utf8');
      resolve({
        code: failure === null ? (code ?? -1) : -1,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: failure === null ? err : `${err}${err.endsWith('\n') || err === '' ? '' : '\n'}${failure}`,
      });
    };
    child.on('error', (error) => {
      failure ??= messageOf(error);
      // git could not be started at all (missing): no close follows for sure.
      if (child.pid === undefined) finish(null);
    });
    child.on('close', finish);
    // A helper git started (ssh, git-remote-https) can outlive a killed git and hold
    // the pipes open: the exit counts once they had a moment to drain.
    child.on('exit', (code) => {
      setTimeout(() => {
        if (done) return;
        finish(code);
        child.stdout.destroy();
        child.stderr.destroy();
      }, 1000);
    });
  });
}
