// `gitfleet agent` (the daemon) as its own process with JSON logs: the parsed
// log lines as they come, and a stop that waits for the exit.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cliEntry, repoRoot } from './gitfleet-cli.ts';

export interface AgentDaemonProcess {
  /** Every stdout line that parsed as JSON (pino's), in order. */
  lines: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export function spawnAgentDaemon(args: string[], env: NodeJS.ProcessEnv): AgentDaemonProcess {
  const agent = spawn(process.execPath, ['--import', 'tsx', cliEntry, 'agent', ...args], {
    cwd: repoRoot,
    env: { ...process.env, GITFLEET_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => agent.once('exit', r));
  const lines: Array<Record<string, unknown>> = [];
  createInterface({ input: agent.stdout }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  });
  return {
    lines,
    async stop() {
      agent.kill('SIGTERM');
      await exited;
    },
  };
}
