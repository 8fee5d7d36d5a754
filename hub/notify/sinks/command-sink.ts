// The command hook: a program run with an argument vector (never a shell
// string), the message's JSON on its stdin, a minimal environment, and a
// timeout after which it is killed. Exit status 0 is delivered; anything
// else is a failed try (retried like an HTTP error).
import { spawn } from 'node:child_process';
import type { NotifyMessage } from '../message.ts';
import { boundText } from '../bound-text.ts';

const MAX_STDERR = 2048;

export function runCommand(s: { name: string; command: string[]; timeoutMs: number }, m: NotifyMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(s.command[0]!, s.command.slice(1), {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', GITFLEET_EVENT: m.event, GITFLEET_RULE: m.rule },
    });
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, s.timeoutMs);
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += d.toString('utf8').slice(0, MAX_STDERR - stderr.length);
    });
    child.stdin.on('error', () => {}); // a program that does not read its stdin is not a failure by itself
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`sink ${s.name}: cannot run ${s.command[0]}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`sink ${s.name}: killed after ${s.timeoutMs} ms`));
      else if (code === 0) resolve();
      else reject(new Error(`sink ${s.name}: exited with ${code ?? signal}${stderr ? `: ${boundText(stderr, 200)}` : ''}`));
    });
    child.stdin.end(JSON.stringify(m) + '\n');
  });
}
