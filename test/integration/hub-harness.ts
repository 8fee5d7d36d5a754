// Shared helpers for the hub tests: a hub as its own process (the real
// `gitfleet hub` command), agent reporters as their own processes
// (hub-agent-fixture.ts), the API over real HTTP, and small waiting helpers.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { HostStatus } from '../../shared/status.ts';
import { freePort } from '../harness/git-servers.ts';
import { waitFor } from '../helpers/wait.ts';

export const root = resolve(import.meta.dirname, '../..');
export const ENROLL = 'enroll-token-0123456789abcdef';
export const ADMIN = 'admin-token-0123456789abcdef';
export const VIEWER = 'viewer-token-0123456789abcdef';
export const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `gitfleet-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export { freePort };
// Shared with the in-process layers (test/helpers/wait.ts); re-exported for the tests that import it from here.
export { waitFor };

export interface HubProcess {
  url: string;
  agentUrl: string;
  port: number;
  logs: Array<Record<string, unknown>>;
  stop(): Promise<number | null>;
  /** Kills the process with no chance to clean up (a crash); resolves when it is gone. */
  kill(): Promise<void>;
}

export async function startHubProcess(o: { dataDir: string; port?: number; env?: Record<string, string>; args?: string[] }): Promise<HubProcess> {
  const port = o.port ?? (await freePort());
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'hub', ...(o.args ?? [])], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GITFLEET_HUB_LISTEN: `127.0.0.1:${port}`,
      GITFLEET_HUB_DATA_DIR: o.dataDir,
      GITFLEET_HUB_ENROLLMENT_TOKEN: ENROLL,
      GITFLEET_HUB_ADMIN_TOKEN: ADMIN,
      GITFLEET_HUB_VIEWER_TOKEN: VIEWER,
      GITFLEET_HUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      GITFLEET_HUB_HEARTBEAT: '2s',
      GITFLEET_HUB_LOG_LEVEL: 'info',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ msg: line });
    }
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await Promise.race([
    waitFor('the hub to listen', () => logs.find((l) => l.msg === 'hub listening'), 20_000),
    exited.then((code) => {
      throw new Error(`hub exited with ${code}: ${stderr}`);
    }),
  ]);
  return {
    url: `http://127.0.0.1:${port}`,
    agentUrl: `ws://127.0.0.1:${port}/agent`,
    port,
    logs,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface AgentProcess {
  host: string;
  stateDir: string;
  lines: Array<Record<string, unknown>>;
  proc: ChildProcessWithoutNullStreams;
  stderr(): string;
  send(command: unknown): void;
  connected(): boolean;
  reconciles(): string[];
  stop(): Promise<void>;
}

export async function startAgent(o: { hubUrl: string; host: string; stateDir: string; token?: string; place?: string; tags?: string[]; env?: Record<string, string> }): Promise<AgentProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/integration/hub-agent-fixture.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HUB_URL: o.hubUrl,
      HOST_ID: o.host,
      STATE_DIR: o.stateDir,
      ...(o.token ? { ENROLLMENT_TOKEN: o.token } : {}),
      PLACE: o.place ?? '',
      TAGS: (o.tags ?? []).join(','),
      HEARTBEAT_MS: '1000',
      ...o.env,
    },
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: proc.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  await waitFor(`agent ${o.host} to start`, () => lines.some((l) => l.ready === true) || proc.exitCode !== null, 20_000);
  if (proc.exitCode !== null) throw new Error(`agent fixture exited: ${stderr}`);
  let connected = false;
  return {
    host: o.host,
    stateDir: o.stateDir,
    lines,
    proc,
    stderr: () => stderr,
    send: (command) => proc.stdin.write(JSON.stringify(command) + '\n'),
    connected() {
      for (const l of lines) if (typeof l.connected === 'boolean') connected = l.connected;
      return connected;
    },
    reconciles: () => lines.flatMap((l) => (typeof l.reconcile === 'string' ? [l.reconcile] : [])),
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.stdin.write(JSON.stringify({ stop: true }) + '\n');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function api<T = unknown>(
  hubUrl: string,
  path: string,
  o: { token?: string | null; method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const token = o.token === undefined ? ADMIN : o.token;
  const send = () =>
    fetch(hubUrl + path, {
      method: o.method ?? 'GET',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...o.headers,
      },
      ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
    });
  let res: Response;
  try {
    res = await send();
  } catch (error) {
    // A kept-alive connection reset as the request went out (seen once, on a
    // /metrics poll while 100 stalled event streams were open): a GET is
    // sent again once, as a scraper's next scrape would. Anything else fails.
    if ((o.method ?? 'GET') !== 'GET' || (error as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw error;
    res = await send();
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, body: body as T };
}

export function makeStatus(host: string, o: { revision?: string; sync?: HostStatus['resources'][number]['sync']; note?: string } = {}): HostStatus {
  const now = new Date().toISOString();
  return {
    host,
    place: '',
    tags: [],
    conditions: [{ type: 'Ready', status: true, reason: 'Applied', message: o.note ?? 'ok', lastTransitionTime: now }],
    lastAppliedRevision: o.revision ?? 'a'.repeat(40),
    lastAttemptedRevision: o.revision ?? 'a'.repeat(40),
    resources: [{ id: 'container/web', sync: o.sync ?? 'InSync', health: 'Healthy', diff: o.sync === 'Drifted' ? [{ field: 'image', desired: 'nginx:1', live: 'nginx:2' }] : [] }],
    attempts: [{ trigger: 'poll', revision: o.revision ?? 'a'.repeat(40), startedAt: now, durationMs: 12, result: 'Succeeded', intended: [], driftCorrected: [] }],
    updatedAt: now,
  };
}
