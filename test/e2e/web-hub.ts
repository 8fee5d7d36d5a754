// Shared by the web view's end-to-end tests and benchmark: a fleet repo in a
// temporary Git repository, a real hub process (`gitfleet hub --config FILE`),
// real reporting clients (the agent's HubClient over WebSocket), statuses to
// report, and a logged-in browser tab.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { HubClient } from '../../agent/report/index.ts';
import type { HostFacts } from '../../shared/protocol.ts';
import type { Condition, HostStatus, ResourceStatus } from '../../shared/status.ts';

export const projectRoot = resolve(import.meta.dirname, '../..');
export const webDist = join(projectRoot, 'hub', 'web', 'dist');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `gitfleet-${prefix}-`));
}

/** Why the web view cannot be served, or null: dist is built by `npm ci` (prepare) or `npm run build`. */
export function missingWebBuild(): string | null {
  return existsSync(join(webDist, 'index.html')) && existsSync(join(webDist, 'app.js')) ? null : `${webDist} is not built (run: npm run build)`;
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' } }).trim();
}

/** A fleet repo (a plain local Git repository) with these files; returns its head. */
export function makeFleetRepo(dir: string, files: Record<string, string>): { dir: string; head: string; commit(files: Record<string, string>, message: string): string } {
  mkdirSync(dir, { recursive: true });
  git(dir, ['init', '-q', '-b', 'main']);
  const commit = (more: Record<string, string>, message: string) => {
    for (const [path, content] of Object.entries(more)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', message]);
    return git(dir, ['rev-parse', 'HEAD']);
  };
  const head = commit(files, 'fleet');
  return { dir, head, commit };
}

export interface HubProcess {
  url: string;
  agentUrl: string;
  adminToken: string;
  viewerToken: string;
  enrollmentToken: string;
  dataDir: string;
  /** Calls the JSON API as a Node client. */
  api<T = unknown>(path: string, init?: { method?: string; body?: unknown; token?: string }): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export interface StartHubOptions {
  repo?: string;
  dataDir?: string;
  extraConfig?: Record<string, string>;
}

/** Starts `gitfleet hub` from the sources and waits for its "hub listening" line. */
export async function startHubProcess(o: StartHubOptions = {}): Promise<HubProcess> {
  const dir = tempDir('web-hub');
  const dataDir = o.dataDir ?? join(dir, 'data');
  const tokens = { adminToken: `admin-${Math.random().toString(36).slice(2)}-token`, viewerToken: `viewer-${Math.random().toString(36).slice(2)}-token`, enrollmentToken: `enroll-${Math.random().toString(36).slice(2)}-token` };
  const lines = [
    'listen: 127.0.0.1:0',
    `dataDir: ${JSON.stringify(dataDir)}`,
    `adminToken: ${tokens.adminToken}`,
    `viewerToken: ${tokens.viewerToken}`,
    `enrollmentToken: ${tokens.enrollmentToken}`,
    'heartbeat: 5s',
    'pollInterval: 1s',
    'logLevel: info',
    ...(o.repo ? [`repo: ${JSON.stringify(o.repo)}`, 'ref: main'] : []),
    ...Object.entries(o.extraConfig ?? {}).map(([k, v]) => `${k}: ${v}`),
  ];
  const configFile = join(dir, 'hub.yaml');
  writeFileSync(configFile, lines.join('\n') + '\n', { mode: 0o600 });
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'cli', 'main.ts'), 'hub', '--config', configFile], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GITFLEET_HUB_LISTEN: '', NODE_OPTIONS: '' },
  });
  let output = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    // Run from source through tsx: a loaded machine may take many seconds to load it.
    const timer = setTimeout(() => reject(new Error(`hub did not start within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!line.includes('hub listening')) continue;
        try {
          const parsed = JSON.parse(line) as { url?: string };
          if (parsed.url) {
            clearTimeout(timer);
            resolveUrl(parsed.url);
            return;
          }
        } catch {
          // not a whole line yet
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code} before listening:\n${output}`));
    });
  });
  // Keep draining its logs so the pipe never fills up and blocks the hub.
  child.stdout!.on('data', () => {});
  const hub: HubProcess = {
    url,
    agentUrl: url.replace(/^http/, 'ws') + '/agent',
    ...tokens,
    dataDir,
    async api<T>(path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
      const res = await fetch(url + path, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${init.token ?? tokens.adminToken}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: init.body === undefined ? null : JSON.stringify(init.body),
      });
      return { status: res.status, body: (await res.json()) as T };
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return hub;
}

export function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    hostname: 'host',
    os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', codename: 'bookworm' },
    kernel: '6.1.0',
    arch: 'x64',
    cpu: { model: 'Test CPU', cores: 2 },
    memory: { totalBytes: 8 * 1024 ** 3 },
    disks: [{ mount: '/', fs: 'ext4', sizeBytes: 20 * 1024 ** 3, usedBytes: 5 * 1024 ** 3 }],
    addresses: [{ iface: 'lo', address: '127.0.0.1', family: 'IPv4' }],
    uptimeSeconds: 3600,
    docker: { version: '20.10.24' },
    systemd: null,
    collectedAt: new Date().toISOString(),
    ...over,
  };
}

export function condition(type: Condition['type'], status: boolean, reason: string, message = ''): Condition {
  return { type, status, reason, message, lastTransitionTime: new Date().toISOString() };
}

export function hostStatus(host: string, o: { place: string; tags?: string[]; applied: string | null; resources?: ResourceStatus[]; stalled?: string; reconciling?: boolean }): HostStatus {
  const now = new Date().toISOString();
  return {
    host,
    place: o.place,
    tags: o.tags ?? [],
    conditions: [
      condition('Ready', o.stalled === undefined, o.stalled === undefined ? 'Converged' : 'ApplyFailed', o.stalled ?? 'all resources in sync'),
      condition('Reconciling', o.reconciling ?? false, o.reconciling ? 'Applying' : 'Idle'),
      condition('Stalled', o.stalled !== undefined, o.stalled === undefined ? 'None' : 'ApplyFailed', o.stalled ?? ''),
    ],
    lastAppliedRevision: o.applied,
    lastAttemptedRevision: o.applied,
    resources: o.resources ?? [{ id: 'container/web', sync: 'InSync', health: 'Healthy', diff: [] }],
    attempts: o.applied
      ? [{ trigger: 'poll', revision: o.applied, startedAt: now, durationMs: 420, result: o.stalled ? 'Failed' : 'Succeeded', intended: ['create container/web'], driftCorrected: [], ...(o.stalled ? { reason: 'ApplyFailed', message: o.stalled } : {}) }]
      : [],
    updatedAt: now,
  };
}

/** A real reporting client (the agent's HubClient) for one host. */
export class ReportingHost {
  readonly client: HubClient;
  readonly stateDir: string;
  readonly reconcileRequests: string[] = [];

  constructor(hub: HubProcess, readonly id: string, o: { place: string; tags?: string[]; facts?: HostFacts }) {
    this.stateDir = tempDir(`web-agent-${id}`);
    this.client = new HubClient({
      url: hub.agentUrl,
      enrollmentToken: hub.enrollmentToken,
      stateDir: this.stateDir,
      host: id,
      place: o.place,
      tags: o.tags ?? [],
      agentVersion: '0.1.0-test',
      facts: () => Promise.resolve(o.facts ?? facts({ hostname: id })),
      logger: pino({ level: 'silent' }),
      onReconcileNow: (reason) => this.reconcileRequests.push(reason),
    });
    this.client.start();
  }

  async stop(): Promise<void> {
    await this.client.stop();
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/** Polls until `check` returns a value (not undefined/false) or the time is up (by default 30 s: a loaded machine is slow, a pass is quick). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Opens the web view in a tab and signs in with the token through the login form. */
export async function signIn(page: Page, hubUrl: string, token: string, hash = '#/'): Promise<void> {
  await page.goto(`${hubUrl}/${hash}`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('header.top [data-role]');
}

export const artifactsDir = join(projectRoot, 'test-artifacts', 'web');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const file = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
