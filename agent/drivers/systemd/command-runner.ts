// The seam between the unit driver and systemctl: production runs systemctl on
// the host itself; tests pass a runner that executes inside a booted test host
// (SystemdHost.exec has this shape). Argument vectors only, never a shell.
import { execFile } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (argv: string[]) => Promise<CommandResult>;

/** Resolves with the exit code (never rejects on a non-zero exit); rejects when the command cannot run at all. */
export function runLocalCommand(argv: string[], options: { timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          // Not an exit status: the command is missing, or it timed out and was killed.
          if (error.killed) resolve({ code: 124, stdout, stderr: `${stderr}\n(timed out after ${options.timeoutMs ?? 120_000} ms)` });
          else reject(error);
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}
