// Shared by the fault-injection suite (test/e2e/faults-*.test.ts) and the fleet
// tests (through fleet-servers.ts): the real built CLI as processes — the hub
// (`gitfleet hub`, which a test may SIGKILL and start again on the same data
// and port) and the agent daemon (`gitfleet agent`, configured the way the
// systemd unit is: GITFLEET_* variables) — plus the hub's API as an operator
// reads it, and a stopwatch for the measured times.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { genericWebhookHeaders } from '../../hub/webhook/verify-webhook.ts';

import { projectDir, waitFor } from './built-cli.ts';

export { bundleMissing, projectDir, sleep, waitFor } from './built-cli.ts';
export const cli = join(projectDir, 'bin', 'gitfleet.mjs');

export function secret(): string {
  return randomBytes(16).toString('hex');
}

export interface HostSummary {
  id: string;
  connectivity: string;
  sync: string;
  ready: boolean;
  stalled: boolean;
  lastAppliedRevision: string | null;
  lastAttemptedRevision: string | null;
  behind: boolean | null;
}

export interface HubEvent {
  time: string;
  level: string;
  reason: string;
  message: string;
  resource?: string;
  seq?: number;
}

export interface HubAttempt {
  trigger: string;
  revision: string;
  startedAt: string;
  result: string;
  reason?: string;
}

export interface HostDetail {
  summary: HostSummary;
  status: { lastAppliedRevision: string | null; updatedAt: string; attempts: HubAttempt[] } | null;
  attempts: HubAttempt[];
  events: HubEvent[];
}

export interface HubOptions {
  dataDir: string;
  /** Listen address; 127.0.0.1 unless the agents reach it across a test network. */
  address?: string;
  port: number;
  repo?: string;
  heartbeat?: string;
  env?: Record<string, string>;
}

/** `gitfleet hub` as its own process. start() after kill() serves the same data on the same port. */
export class HubProcess {
  readonly enrollment = secret();
  readonly admin = secret();
  readonly webhookSecret = secret();
  #proc: ChildProcess | null = null;
  #stderr = '';

  constructor(readonly o: HubOptions) {}

  get url(): string {
    return `http://${this.o.address ?? '127.0.0.1'}:${this.o.port}`;
  }

  get agentUrl(): string {
    return `ws://${this.o.address ?? '127.0.0.1'}:${this.o.port}/agent`;
  }

  get stderr(): string {
    return this.#stderr;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    const proc = spawn(process.execPath, [cli, 'hub'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GITFLEET_HUB_LISTEN: `${this.o.address ?? '127.0.0.1'}:${this.o.port}`,
        GITFLEET_HUB_DATA_DIR: this.o.dataDir,
        GITFLEET_HUB_ENROLLMENT_TOKEN: this.enrollment,
        GITFLEET_HUB_ADMIN_TOKEN: this.admin,
        GITFLEET_HUB_WEBHOOK_SECRET: this.webhookSecret,
        GITFLEET_HUB_HEARTBEAT: this.o.heartbeat ?? '2s',
        GITFLEET_HUB_LOG_LEVEL: 'warn',
        ...(this.o.repo ? { GITFLEET_HUB_REPO: this.o.repo, GITFLEET_HUB_POLL_INTERVAL: '5m' } : {}),
        ...this.o.env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#proc = proc;
    proc.stderr!.on('data', (b: Buffer) => (this.#stderr = (this.#stderr + b.toString()).slice(-8000)));
    await waitFor('the hub to answer /healthz', timeoutMs, async () => {
      if (proc.exitCode !== null) throw new Error(`the hub exited with ${proc.exitCode}: ${this.#stderr}`);
      return (await fetch(`${this.url}/healthz`)).ok ? true : undefined;
    }, 50).catch((error: unknown) => {
      throw new Error(`${String(error)}\nhub stderr: ${this.#stderr}`);
    });
  }

  /** SIGKILL: no shutdown hook runs, whatever the store had not committed is gone. */
  async kill(): Promise<void> {
    const p = this.#proc;
    this.#proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  async api<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await fetch(`${this.url}${path}`, { ...init, headers: { authorization: `Bearer ${this.admin}`, ...(init.headers ?? {}) } });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  host(id: string): Promise<HostDetail> {
    return this.api<HostDetail>(`/api/v1/hosts/${encodeURIComponent(id)}`);
  }

  /** Every host's summary (up to 100, enough for a test fleet) by id. */
  async summaries(): Promise<Map<string, HostSummary>> {
    return new Map((await this.api<{ hosts: HostSummary[] }>('/api/v1/hosts?limit=100')).hosts.map((h) => [h.id, h]));
  }

  async events(id: string, limit = 1000): Promise<HubEvent[]> {
    return (await this.api<{ events: HubEvent[] }>(`/api/v1/hosts/${encodeURIComponent(id)}/events?limit=${limit}`)).events;
  }

  /** A signed push notice, as a Git provider sends it. */
  async webhook(revision: string, ref = 'refs/heads/main'): Promise<void> {
    const body = JSON.stringify({ ref, after: revision });
    const res = await fetch(`${this.url}/api/v1/hooks/git`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...genericWebhookHeaders(this.webhookSecret, body) },
      body,
    });
    if (!res.ok) throw new Error(`webhook: HTTP ${res.status} ${await res.text()}`);
  }

  /** Resolves when the hub shows the host online, in sync, ready and applied at `revision`. */
  convergedAt(id: string, revision: string, timeoutMs: number): Promise<HostDetail> {
    let last: HostSummary | null = null;
    return waitFor(`host ${id} converged at ${revision.slice(0, 12)} at the hub`, timeoutMs, async () => {
      const d = await this.host(id);
      last = d.summary;
      const s = d.summary;
      return s.connectivity === 'Online' && s.lastAppliedRevision === revision && s.sync === 'InSync' && s.ready && !s.stalled ? d : undefined;
    }, 100).catch((error: unknown) => {
      throw new Error(`${String(error)}; the hub last said ${JSON.stringify(last)}`);
    });
  }
}

export interface AgentOptions {
  repo: string;
  host: string;
  stateDir: string;
  hub?: HubProcess;
  /** Extra GITFLEET_* variables (GITFLEET_DOCKER_SOCKET, GITFLEET_FILES_ALLOW…). */
  env?: Record<string, string>;
  /** The Git poll (GITFLEET_INTERVAL); 5s unless given. */
  interval?: string;
}

/**
 * The agent daemon as the systemd unit runs it (bin/gitfleet.mjs agent, JSON
 * logs on stdout). Failure retries come quickly (GITFLEET_RETRY_INTERVAL 2s) so
 * a test does not wait out the production default.
 */
export class AgentProcess {
  readonly logs: Array<Record<string, unknown>> = [];
  #proc: ChildProcess | null = null;
  #stderr = '';
  #exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(readonly o: AgentOptions) {}

  start(): void {
    const o = this.o;
    const proc = spawn(process.execPath, [cli, 'agent', '--repo', o.repo, '--host', o.host, '--state-dir', o.stateDir], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: o.stateDir,
        GITFLEET_LOG_LEVEL: 'info',
        GITFLEET_INTERVAL: o.interval ?? '5s',
        GITFLEET_DRIFT_INTERVAL: '2s',
        GITFLEET_HEALTH_SETTLE: '500ms',
        GITFLEET_HEALTH_TIMEOUT: '20s',
        GITFLEET_RETRY_INTERVAL: '2s',
        ...(o.hub ? { GITFLEET_AGENT_HUB: o.hub.agentUrl, GITFLEET_TOKEN: o.hub.enrollment } : {}),
        ...o.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#proc = proc;
    this.#exit = null;
    proc.once('exit', (code, signal) => (this.#exit = { code, signal }));
    proc.stderr!.on('data', (b: Buffer) => (this.#stderr = (this.#stderr + b.toString()).slice(-8000)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        this.logs.push({ msg: line });
      }
      if (this.logs.length > 20_000) this.logs.splice(0, 10_000); // bounded: a long test keeps the recent half
    });
  }

  /** null while it runs; how it ended otherwise (a crash is a test failure). */
  get exited(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.#exit;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The last `n` log lines, for a failure message. */
  tail(n = 15): string {
    return this.logs.slice(-n).map((l) => JSON.stringify(l)).join('\n') + (this.#stderr ? `\nstderr: ${this.#stderr.slice(-2000)}` : '');
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = null;
    if (!p || this.#exit) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(timer);
  }
}

/** Every event seq the hub holds for a host, oldest first; throws on a duplicate or an out-of-order seq. */
export function assertEventSeqs(events: HubEvent[]): number[] {
  const seqs = events.filter((e) => e.seq !== undefined).map((e) => e.seq!).reverse(); // the API lists newest first
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i]! <= seqs[i - 1]!) throw new Error(`event seqs at the hub not strictly increasing in arrival order: ${seqs[i - 1]} then ${seqs[i]} (all: ${seqs.join(',')})`);
  }
  return seqs;
}

/** A line for the measurements summary (the suite prints them; the docs quote them). */
export function measured(t: { diagnostic(message: string): void }, what: string, ms: number): void {
  const line = `MEASURED ${what}: ${(ms / 1000).toFixed(1)} s`;
  t.diagnostic(line);
}
