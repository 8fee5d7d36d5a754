// The agent's side of the hub connection. It dials out (so hosts behind NAT
// work), enrolls with the enrollment token on first contact and keeps the
// credential it is given (from then on it sends only the credential: the
// token goes out again only after the hub says the host is not enrolled), reconnects with exponential backoff and jitter, and
// sends reports from an on-disk queue in seq order, dropping them only once
// the hub acks them. The hub is never on the critical path: every method
// returns at once and nothing here throws into the daemon.
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import { MAX_FRAME_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, ProtocolVersionError, boundTags, encodeMessage, parseHubMessage, statusForProtocol } from '../../shared/protocol.ts';
import type { AgentMessage, HostFacts, HubMessage, Release } from '../../shared/protocol.ts';
import type { HostStatus } from '../../shared/status.ts';
import { backoffDelay } from '../../shared/backoff.ts';
import { emptyFacts } from '../facts.ts';
import { readCredential, writeCredential } from './credential-file.ts';
import { ReportQueue } from './report-queue.ts';
import { STATUS_REFRESH_MS, statusNewsKey } from '../state/status-news.ts';
// Intervals are measured on the monotonic clock: a wall-clock step (NTP, a dead RTC
// battery on a device) must not hold a report back for the size of the step.
import { monotonicMs } from '../../shared/monotonic.ts';

export interface HubClientOptions {
  url: string;
  enrollmentToken?: string;
  stateDir: string;
  host: string;
  place: string;
  tags: string[];
  agentVersion: string;
  facts: () => Promise<HostFacts>;
  logger: Logger;
  /** `origin` api: a person asked for it; webhook: a Git push. */
  onReconcileNow: (reason: string, origin?: 'api' | 'webhook') => void;
  /** A staged rollout's release (protocol 2, docs/rollouts.md). */
  onRelease?: (release: Release) => void;
  /** The session with the hub started (welcome) or ended. */
  onConnection?: (connected: boolean) => void;
  /** Until the hub says otherwise in its welcome. Default 30 s. */
  heartbeatMs?: number;
  maxQueueBytes?: number;
}

export const QUEUE_FILE = 'hub-queue.json';
/** Statuses are coalesced: at most one per this interval, the latest wins. */
const MIN_STATUS_INTERVAL_MS = 1000;
const FACTS_TIMEOUT_MS = 10_000;
const RECONNECT = { baseMs: 1000, maxMs: 60_000 };
/** After a refusal a retry cannot fix soon (wrong token, claimed id, version), wait this long. */
const REFUSED_RETRY_MS = 5 * 60_000;

export class HubClient {
  readonly #o: HubClientOptions;
  readonly #log: Logger;
  #queue: ReportQueue | null = null;
  #ws: WebSocket | null = null;
  #welcomed = false;
  #stopped = true;
  #attempt = 0;
  #credential: string | null = null;
  /** Set when the hub refused the credential as not enrolled (host deleted, credential reset): offer the token once more. */
  #offerToken = false;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #statusTimer: NodeJS.Timeout | null = null;
  #lastStatusSentAt = Number.NEGATIVE_INFINITY;
  #lastStatusKey: string | null = null;
  /** The last status queued and its seq: resent on welcome to a hub that does not have it (a new database, another replica's stale copy). */
  #lastQueuedStatus: { status: HostStatus; seq: number } | null = null;
  /** When a status last went to the queue (monotonic ms), for STATUS_REFRESH_MS. */
  #lastStatusQueuedAt = Number.NEGATIVE_INFINITY;
  #pendingStatus: HostStatus | null = null;
  /** Highest seq written to the current socket. */
  #sentUpTo = 0;
  #heartbeatMs: number;
  #lastPongAt = 0;
  /** The version the hub chose in its welcome: statuses are sent in its vocabulary (statusForProtocol). */
  #protocol = MIN_PROTOCOL_VERSION;
  #nextDelayOverride: number | null = null;
  #starting: Promise<void> | null = null;
  /** Why the last connection failed or was refused, for drain() and the once-per-outage warning. */
  #lastProblem: string | null = null;
  /** Since when (monotonic ms) the hub cannot be reached: one warning when an outage starts, one when it ends. */
  #outageSince: number | null = null;

  constructor(o: HubClientOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'hub-client', hub: redact(o.url) });
    this.#heartbeatMs = o.heartbeatMs ?? 30_000;
  }

  get connected(): boolean {
    return this.#welcomed;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#starting = (async () => {
      this.#queue = new ReportQueue(join(this.#o.stateDir, QUEUE_FILE), this.#o.maxQueueBytes);
      if (this.#queue.loadError) this.#log.warn(`report queue unreadable, starting empty: ${this.#queue.loadError}`);
      try {
        this.#credential = await readCredential(this.#o.stateDir);
      } catch (error) {
        this.#log.error(`cannot read the hub credential: ${messageOf(error)}`);
      }
      if (this.#pendingStatus) this.flushStatus();
      this.connect();
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#starting;
    for (const t of [this.#reconnectTimer, this.#heartbeatTimer, this.#statusTimer]) if (t) clearTimeout(t);
    this.#reconnectTimer = this.#heartbeatTimer = this.#statusTimer = null;
    if (this.#pendingStatus) this.#queue?.pushStatus(this.#pendingStatus);
    this.#pendingStatus = null;
    const ws = this.#ws;
    this.#ws = null;
    this.#welcomed = false;
    if (ws) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        ws.close(1000, 'agent stopping');
      });
    }
    await this.#queue?.save().catch((error: unknown) => this.#log.error(`cannot save the report queue: ${messageOf(error)}`));
  }

  /**
   * For a one-shot run (`agent --once`): sends the pending status at once and
   * waits until the hub has acknowledged every queued report, at most
   * `timeoutMs`. Undelivered reports stay queued on disk for the daemon.
   */
  async drain(timeoutMs: number): Promise<{ delivered: boolean; reason: string | null }> {
    await this.#starting;
    const deadline = monotonicMs() + timeoutMs;
    for (;;) {
      if (this.#pendingStatus) this.flushStatus();
      if (this.#queue && this.#queue.length === 0 && this.#pendingStatus === null) return { delivered: true, reason: null };
      // A failed attempt and no session: the hub is unreachable or refuses now; waiting for the backoff would only delay the answer.
      if (!this.#welcomed && this.#lastProblem !== null) return { delivered: false, reason: this.#lastProblem };
      if (monotonicMs() >= deadline) return { delivered: false, reason: this.#lastProblem ?? (this.#welcomed ? 'the hub did not acknowledge in time' : 'no connection in time') };
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * The latest status is always kept; a snapshot with no news (statusNewsKey)
   * is not resent unless `force` (the answer to a reconcile the hub asked for)
   * or the last one is STATUS_REFRESH_MS old; sends are coalesced to one a second.
   */
  reportStatus(status: HostStatus, o: { force?: boolean } = {}): void {
    const key = statusNewsKey(status);
    if (key === this.#lastStatusKey && o.force !== true && monotonicMs() - this.#lastStatusQueuedAt < STATUS_REFRESH_MS) return;
    this.#lastStatusKey = key;
    this.#lastStatusQueuedAt = monotonicMs();
    this.#pendingStatus = status;
    if (!this.#queue) return; // queued when start() has loaded the queue
    const wait = this.#lastStatusSentAt + MIN_STATUS_INTERVAL_MS - monotonicMs();
    if (wait <= 0) this.flushStatus();
    else if (this.#statusTimer === null) {
      this.#statusTimer = setTimeout(() => this.flushStatus(), wait);
      this.#statusTimer.unref();
    }
  }

  reportEvent(e: { reason: string; message: string; resource?: string; level?: 'info' | 'warning' | 'error' }): void {
    if (!this.#queue) {
      this.#log.debug({ reason: e.reason }, 'event before start() is not reported');
      return;
    }
    this.#queue.pushEvent({
      time: new Date().toISOString(),
      level: e.level ?? 'info',
      reason: e.reason.slice(0, 100),
      message: e.message.slice(0, 4096),
      ...(e.resource === undefined ? {} : { resource: e.resource.slice(0, 1024) }),
    });
    this.sendPending();
  }

  private flushStatus(): void {
    this.#statusTimer = null;
    const status = this.#pendingStatus;
    if (!status || !this.#queue) return;
    this.#pendingStatus = null;
    this.#lastStatusSentAt = monotonicMs();
    this.#lastQueuedStatus = { status, seq: this.#queue.pushStatus(status).seq };
    this.sendPending();
  }

  // ---- connection ----

  private connect(): void {
    if (this.#stopped) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#o.url, { maxPayload: MAX_FRAME_BYTES, handshakeTimeout: 10_000, perMessageDeflate: false });
    } catch (error) {
      this.#log.error(`cannot dial the hub: ${messageOf(error)}`);
      this.#reconnectTimer = setTimeout(() => this.connect(), REFUSED_RETRY_MS);
      this.#reconnectTimer.unref();
      return;
    }
    this.#ws = ws;
    this.#welcomed = false;
    this.#sentUpTo = 0;
    ws.on('open', () => void this.hello(ws));
    ws.on('message', (data: Buffer) => this.onFrame(ws, data));
    ws.on('pong', () => (this.#lastPongAt = monotonicMs()));
    ws.on('error', (error) => {
      this.#lastProblem = withEndpointHint(error.message, this.#o.url);
      this.#log.debug(`hub connection error: ${error.message}`);
    });
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  private async hello(ws: WebSocket): Promise<void> {
    const facts = await withTimeout(this.#o.facts(), FACTS_TIMEOUT_MS).catch((error: unknown) => {
      this.#log.warn(`host facts unavailable: ${messageOf(error)}`);
      return emptyFacts();
    });
    if (ws !== this.#ws || ws.readyState !== WebSocket.OPEN) return;
    this.send(ws, {
      type: 'hello',
      // The range this agent speaks; the hub picks the highest version both do (parseHubMessage checks its choice).
      protocol: PROTOCOL_VERSION,
      minProtocol: MIN_PROTOCOL_VERSION,
      host: this.#o.host,
      agentVersion: this.#o.agentVersion,
      place: this.#o.place,
      tags: boundTags(this.#o.tags), // a repo tag over the hub's bounds must not get every hello refused
      facts,
      droppedEvents: this.#queue?.droppedEvents ?? 0,
      ...(this.#credential ? { credential: this.#credential } : {}),
      // The token only until a credential is held: every hello that carries it is a chance to leak it.
      ...(this.#o.enrollmentToken && (!this.#credential || this.#offerToken) ? { enrollmentToken: this.#o.enrollmentToken } : {}),
    });
  }

  private send(ws: WebSocket, message: AgentMessage): void {
    ws.send(encodeMessage(message));
  }

  private onFrame(ws: WebSocket, data: Buffer): void {
    if (ws !== this.#ws) return;
    let message: HubMessage;
    try {
      message = parseHubMessage(data);
    } catch (error) {
      if (error instanceof ProtocolVersionError) {
        this.#log.error({ code: error.code, reason: error.reason }, `hub refused: ${error.message}`);
        this.#nextDelayOverride = REFUSED_RETRY_MS;
      } else this.#log.warn(`malformed frame from the hub, reconnecting: ${messageOf(error)}`);
      ws.close(4004, 'PROTOCOL_INVALID');
      return;
    }
    switch (message.type) {
      case 'welcome':
        void this.welcome(ws, message);
        return;
      case 'ack':
        this.#queue?.ackUpTo(message.seq);
        return;
      case 'reconcile-now':
        this.#log.info({ reason: message.reason }, 'hub asked for a reconcile');
        try {
          this.#o.onReconcileNow(message.reason, message.origin);
        } catch (error) {
          this.#log.error(`reconcile-now handler failed: ${messageOf(error)}`);
        }
        return;
      case 'release':
        try {
          this.#o.onRelease?.(message);
        } catch (error) {
          this.#log.error(`release handler failed: ${messageOf(error)}`);
        }
        return;
      case 'error': {
        const line = `hub refused the connection [${message.code}${message.reason ? ` ${message.reason}` : ''}]: ${message.message}`;
        this.#lastProblem = line;
        if (message.code === 'AUTH_FAILED' && this.#credential && !this.#offerToken && this.#o.enrollmentToken) {
          // The hub no longer knows this host (deleted, or its credential reset): enroll again, at the usual backoff.
          this.#offerToken = true;
          this.#log.warn(`${line}; offering the enrollment token on the next connection`);
          return;
        }
        if (message.code === 'SESSION_REPLACED') this.#log.warn(line);
        else this.#log.error({ code: message.code, reason: message.reason }, line);
        if (message.code !== 'SESSION_REPLACED' && message.code !== 'INTERNAL' && message.code !== 'PROTOCOL_INVALID') this.#nextDelayOverride = REFUSED_RETRY_MS;
        return;
      }
    }
  }

  private async welcome(ws: WebSocket, w: Extract<HubMessage, { type: 'welcome' }>): Promise<void> {
    if (w.hostCredential) {
      try {
        await writeCredential(this.#o.stateDir, w.hostCredential);
        this.#credential = w.hostCredential;
        this.#offerToken = false;
        this.#log.info('enrolled with the hub; credential saved');
      } catch (error) {
        // Without it the next connection would be refused as a claim: say so loudly.
        this.#log.error(`enrolled, but cannot save the hub credential: ${messageOf(error)}`);
      }
    }
    if (ws !== this.#ws) return;
    this.#welcomed = true;
    this.#lastProblem = null;
    if (this.#outageSince !== null) {
      // The pair to the outage's one warning (also at warn, so whoever saw the first sees this one).
      this.#log.warn({ outageSeconds: Math.round((monotonicMs() - this.#outageSince) / 100) / 10 }, 'hub reachable again');
      this.#outageSince = null;
    }
    this.#attempt = 0;
    this.#heartbeatMs = w.heartbeatMs;
    this.#protocol = w.protocol;
    this.#lastPongAt = monotonicMs();
    this.#queue!.rebase(w.lastSeq);
    // Quiet passes send nothing, so a hub that lost our last status would wait for the next change: give it now.
    const last = this.#lastQueuedStatus;
    if (last && last.seq > w.lastSeq && !this.#queue!.pending().some((r) => r.type === 'status')) this.#lastQueuedStatus = { status: last.status, seq: this.#queue!.pushStatus(last.status).seq };
    this.#log.info({ pending: this.#queue!.length }, 'connected to the hub');
    this.scheduleHeartbeat(ws);
    this.sendPending();
    this.#o.onConnection?.(true);
  }

  private scheduleHeartbeat(ws: WebSocket): void {
    if (this.#heartbeatTimer) clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = setTimeout(() => {
      if (ws !== this.#ws || ws.readyState !== WebSocket.OPEN) return;
      // No pong for two beats: the path is dead even if TCP has not noticed.
      if (monotonicMs() - this.#lastPongAt > this.#heartbeatMs * 2) {
        this.#log.warn('hub stopped answering; reconnecting');
        ws.terminate();
        return;
      }
      this.send(ws, { type: 'heartbeat' });
      ws.ping();
      this.scheduleHeartbeat(ws);
    }, this.#heartbeatMs);
    this.#heartbeatTimer.unref();
  }

  /** Sends, in seq order, whatever is queued and not yet written to this socket. */
  private sendPending(): void {
    const ws = this.#ws;
    if (!ws || !this.#welcomed || ws.readyState !== WebSocket.OPEN || !this.#queue) return;
    for (const report of this.#queue.pending()) {
      if (report.seq <= this.#sentUpTo) continue;
      this.send(ws, report.type === 'status' ? { ...report, status: statusForProtocol(report.status, this.#protocol) } : report);
      this.#sentUpTo = report.seq;
    }
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    const wasWelcomed = this.#welcomed;
    this.#welcomed = false;
    this.#ws = null;
    if (this.#heartbeatTimer) clearTimeout(this.#heartbeatTimer);
    if (wasWelcomed) this.#o.onConnection?.(false);
    if (this.#stopped) return;
    const delay = this.#nextDelayOverride ?? backoffDelay(this.#attempt++, RECONNECT);
    this.#nextDelayOverride = null;
    const line = `hub connection closed (${code}${reason ? ` ${reason}` : ''}); retrying in ${Math.round(delay / 100) / 10} s`;
    // One warning per outage, not one per retry: the first failure after a session (or at start) says
    // why; the retries are debug lines until the hub answers again ("hub reachable again").
    if (this.#outageSince === null) {
      this.#outageSince = monotonicMs();
      const cause = wasWelcomed ? line : `cannot reach the hub: ${this.#lastProblem ?? line}; retrying in the background (logged once until it is back)`;
      this.#log.warn(cause);
    } else this.#log.debug(line);
    this.#reconnectTimer = setTimeout(() => this.connect(), delay);
    this.#reconnectTimer.unref();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * A 404 on the WebSocket upgrade almost always means a hub URL without its
 * `/agent` path (the agent's `hub` key names the endpoint, not the base URL).
 */
export function withEndpointHint(problem: string, url: string): string {
  if (!/Unexpected server response: 404/.test(problem)) return problem;
  try {
    const u = new URL(url);
    if (u.pathname.replace(/\/+$/, '').endsWith('/agent')) return problem;
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/agent`;
    u.username = '';
    u.password = '';
    return `${problem}: the agent's hub key names the WebSocket endpoint; did you mean ${u.toString()}?`;
  } catch {
    return problem;
  }
}

/** The hub URL without any userinfo, for logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}
