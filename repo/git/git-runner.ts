// Runs git (through simple-git: argument vectors, never a shell) against the
// source's own repository, with an explicit environment, a timeout, and
// failures turned into GitfleetErrors whose messages carry no secrets.
import { simpleGit } from 'simple-git';
import type { Logger } from 'pino';
import { GitfleetError, messageOf } from '../../shared/errors.ts';
import { classifyGitFailure, scrubGitOutput } from './classify-failure.ts';

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
    const git = simpleGit({
      baseDir: this.#cwd,
      timeout: { block: options.timeoutMs ?? this.#timeoutMs },
      allowEnvironment: Object.keys(env),
      unsafe: { allowUnsafeSshCommand: true, allowUnsafeAskPass: true, allowUnsafeConfigEnvCount: true, allowUnsafeConfigPaths: true },
    }).env(env);
    const started = performance.now();
    try {
      const out = await git.raw(args);
      this.#logger?.debug({ git: args[0], ms: Math.round(performance.now() - started) }, 'git');
      return out;
    } catch (error) {
      const text = messageOf(error);
      const code = classifyGitFailure(text);
      const detail = scrubGitOutput(text, options.secrets ?? []);
      // The cause is kept, scrubbed: git's own text can echo a URL or a header.
      const cause = new Error(scrubGitOutput(text, options.secrets ?? [], 100));
      throw new GitfleetError(code, `${options.what} failed: ${detail || 'git exited with an error'}`, { cause });
    }
  }
}
