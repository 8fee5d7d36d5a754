// One agent connection: waits for hello, authenticates (enrollment token on
// first contact, the host's own credential after), then stores statuses and
// events in the order they arrive and acks what is stored. Anything wrong
// closes this socket only, with one log line naming the cause.
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { GitfleetError, isGitfleetError, messageOf } from '../../shared/errors.ts';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, ProtocolVersionError, closeCodes, encodeMessage, helloRange, negotiateProtocol, parseAgentMessage } from '../../shared/protocol.ts';
import type { AgentMessage, Hello, HubErrorCode, HubMessage } from '../../shared/protocol.ts';
import { newCredential, hashSecret, secretMatches } from '../auth/secrets.ts';
import { ThrottledError } from './enrollment-gate.ts';
import type { EnrollmentGate } from './enrollment-gate.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import type { HubMetrics } from '../metrics.ts';
import { ReceiveThrottle } from './receive-throttle.ts';
import { ReportWriter } from './report-writer.ts';

export interface SessionContext {
  store: FleetStore;
  index: FleetIndex;
  metrics: HubMetrics;
  logger: Logger;
  enrollment: EnrollmentGate;
  heartbeatMs: number;
  now: () => Date;
  /** Registers an authenticated session; returns the one it replaces, if any. */
  claim(session: AgentSession): AgentSession | undefined;
  release(session: AgentSession): void;
  /** After the welcome went out (the rollout coordinator sends the host its release then). */
  welcomed?(session: AgentSession): void;
}

/**
 * Bytes of reports one session may have waiting for the store (a busy
 * database): beyond it the connection is closed, un-acked, and the agent
 * resends from its own queue when it reconnects.
 */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

export class AgentSession {
  readonly #ws: WebSocket;
  readonly #ctx: SessionContext;
  readonly remote: string;
  host: string | null = null;
  lastMessageAt = Date.now();
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  #ackSeq = 0;
  #ackScheduled = false;
  /** The version negotiated in hello (the highest both sides speak). */
  protocol: number | null = null;
  readonly #throttle: ReceiveThrottle;
  #writer: ReportWriter | null = null;
  #queuedBytes = 0;
  readonly #helloTimer: NodeJS.Timeout;

  constructor(ws: WebSocket, remote: string, ctx: SessionContext, helloTimeoutMs: number) {
    this.#ws = ws;
    this.#ctx = ctx;
    this.remote = remote;
    this.#throttle = new ReceiveThrottle(ws, () => ctx.metrics.throttled.inc());
    this.#helloTimer = setTimeout(() => this.reject(new GitfleetError('AUTH_FAILED', `no hello within ${helloTimeoutMs} ms`)), helloTimeoutMs);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => this.onFrame(data));
    ws.on('error', (error: Error & { code?: string }) => this.onSocketError(error));
    ws.on('close', (code: number) => this.onClose(code));
  }

  /** The remote address without the port: what enrollment attempts are throttled by. */
  get address(): string {
    const colon = this.remote.lastIndexOf(':');
    return colon < 0 ? this.remote : this.remote.slice(0, colon);
  }

  get log(): Logger {
    return this.#ctx.logger;
  }

  send(message: HubMessage): void {
    if (!this.#closed && this.#ws.readyState === this.#ws.OPEN) this.#ws.send(encodeMessage(message));
  }

  /** Sends an error naming the cause, then closes; logged once here. */
  reject(error: unknown): void {
    if (this.#closed) return;
    const code: HubErrorCode = isGitfleetError(error) && error.code in closeCodes ? (error.code as HubErrorCode) : 'INTERNAL';
    const reason = error instanceof ProtocolVersionError ? error.reason : undefined;
    this.#ctx.metrics.rejected.inc({ code });
    // Throttle refusals are logged once per window by the enrollment gate.
    const level = code === 'SESSION_REPLACED' ? 'info' : error instanceof ThrottledError ? 'debug' : 'warn';
    this.log[level]({ host: this.host, remote: this.remote, code, reason }, `agent connection closed: ${messageOf(error)}`);
    this.send({ type: 'error', code, message: messageOf(error), ...(reason ? { reason, hubProtocol: PROTOCOL_VERSION, hubMinProtocol: MIN_PROTOCOL_VERSION } : {}) });
    this.#closed = true;
    this.#ws.close(closeCodes[code], code);
    // A peer that ignores the close handshake must not hold the socket open.
    setTimeout(() => this.#ws.terminate(), 2000).unref();
  }

  close(code: HubErrorCode, message: string): void {
    this.reject(new GitfleetError(code, message));
  }

  private onFrame(data: Buffer | ArrayBuffer | Buffer[]): void {
    if (this.#closed) return;
    this.lastMessageAt = Date.now();
    this.#throttle.received(data);
    let message: AgentMessage;
    try {
      message = parseAgentMessage(data);
    } catch (error) {
      this.reject(error);
      return;
    }
    this.#ctx.metrics.messages.inc({ type: message.type });
    // A heartbeat touches no store: it must not wait behind writes to a busy database.
    if (message.type === 'heartbeat' && this.host !== null) {
      this.#ctx.index.seen(this.host, this.#ctx.now().toISOString());
      return;
    }
    const bytes = byteLength(data);
    if (this.#queuedBytes + bytes > MAX_QUEUED_BYTES) {
      this.reject(new GitfleetError('INTERNAL', `the hub's store is busy and ${this.#queuedBytes} bytes of this agent's reports are waiting; reconnect and resend what was not acked`));
      return;
    }
    this.#queuedBytes += bytes;
    // One chain per session: writes land in arrival order, and nothing runs before hello is done.
    this.#chain = this.#chain
      .then(() => (this.#closed ? undefined : this.handle(message)))
      .catch((error: unknown) => this.reject(error))
      .finally(() => (this.#queuedBytes -= bytes));
  }

  private async handle(message: AgentMessage): Promise<void> {
    if (this.host === null) {
      if (message.type !== 'hello') throw new GitfleetError('AUTH_FAILED', `expected hello first, got ${message.type}`);
      await this.hello(message);
      return;
    }
    const { index } = this.#ctx;
    const host = this.host;
    switch (message.type) {
      case 'hello':
        throw new GitfleetError('PROTOCOL_INVALID', 'a second hello on one connection');
      case 'heartbeat':
        index.seen(host, this.#ctx.now().toISOString());
        return;
      case 'status': {
        if (message.status.host !== host) throw new GitfleetError('PROTOCOL_INVALID', `a status for host ${message.status.host} on the connection of ${host}`);
        await this.#writer!.status(message.seq, message.status);
        return;
      }
      case 'event':
        await this.#writer!.event(message);
        return;
    }
  }

  private async hello(hello: Hello): Promise<void> {
    const { store, index, metrics } = this.#ctx;
    const record = await store.getHost(hello.host);
    let issued: string | undefined;
    if (record?.credentialHash) {
      if (hello.credential === undefined || !secretMatches(hello.credential, record.credentialHash)) {
        this.#ctx.enrollment.countFailure(this.address);
        throw new GitfleetError(
          'HOST_CLAIMED',
          `host id ${hello.host} is enrolled with another credential; refused (reset it with DELETE /api/v1/hosts/${hello.host}/credential if the host was reinstalled)`,
        );
      }
    } else {
      const by = await this.#ctx.enrollment.admit(hello, this.address);
      issued = newCredential();
      await store.enroll(hello.host, hashSecret(issued), this.#ctx.now().toISOString());
      metrics.enrollments.inc();
      index.enrolled(hello.host);
      const token = by.kind === 'fleet' ? 'the fleet-wide token' : `enrollment token ${by.id} (${by.name})`;
      void store.appendEvent(hello.host, { time: this.#ctx.now().toISOString(), level: 'info', reason: 'Enrolled', message: `enrolled from ${this.remote} with ${token}` });
      this.log.info({ host: hello.host, remote: this.remote, token: by.kind === 'fleet' ? 'fleet' : by.id }, 'host enrolled');
    }
    clearTimeout(this.#helloTimer);
    if (this.#closed) return;
    this.host = hello.host;
    const chosen = negotiateProtocol(helloRange(hello));
    // parseAgentMessage refused incompatible ranges already; this is the version both speak.
    this.protocol = 'version' in chosen ? chosen.version : PROTOCOL_VERSION;
    this.#writer = new ReportWriter({
      host: hello.host,
      store,
      index,
      metrics,
      log: this.log,
      now: this.#ctx.now,
      ack: (seq) => this.ack(seq),
      enqueue: (task) => this.enqueue(task),
    });
    const replaced = this.#ctx.claim(this);
    replaced?.close('SESSION_REPLACED', `a newer connection for ${hello.host} replaced this one`);
    const seenAt = this.#ctx.now().toISOString();
    // Not awaited before the welcome: a busy database must not keep a known host offline (it is awaited below).
    const helloStored = store.recordHello(hello.host, { place: hello.place, tags: hello.tags, agentVersion: hello.agentVersion, facts: hello.facts, droppedEvents: hello.droppedEvents, seenAt });
    if (record && hello.droppedEvents > record.droppedEvents) {
      const lost = hello.droppedEvents - record.droppedEvents;
      void store.appendEvent(hello.host, { time: seenAt, level: 'warning', reason: 'EventsDropped', message: `the agent dropped ${lost} event(s) while its queue was full` });
    }
    index.hello(hello.host, { place: hello.place, tags: hello.tags, agentVersion: hello.agentVersion, seenAt });
    index.connected(hello.host, true);
    if (!replaced) metrics.agentsConnected.inc();
    this.send({
      type: 'welcome',
      protocol: this.protocol,
      ...(issued ? { hostCredential: issued } : {}),
      serverTime: seenAt,
      heartbeatMs: this.#ctx.heartbeatMs,
      lastSeq: record?.lastSeq ?? 0,
    });
    this.#ctx.welcomed?.(this);
    this.log.debug({ host: hello.host, remote: this.remote, agentVersion: hello.agentVersion }, 'agent connected');
    await helloStored;
  }

  /** Runs a task after everything queued on this session's chain (the report writer's deferred status writes). */
  private enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(() => (this.#closed ? undefined : task())).catch((error: unknown) => this.reject(error));
  }

  /** Acks are coalesced: one frame per tick carries the highest stored seq. */
  private ack(seq: number): void {
    this.#ackSeq = Math.max(this.#ackSeq, seq);
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(() => {
      this.#ackScheduled = false;
      this.send({ type: 'ack', seq: this.#ackSeq });
    });
  }

  private onSocketError(error: Error & { code?: string }): void {
    // ws closes the socket itself (1009 for oversize, 1007 for bad UTF-8); we only say why.
    const code = 'PROTOCOL_INVALID';
    this.#ctx.metrics.rejected.inc({ code });
    this.log.warn({ host: this.host, remote: this.remote, code, wsError: error.code }, `agent connection closed: ${error.message}`);
    this.#closed = true;
  }

  private onClose(code: number): void {
    this.#closed = true;
    clearTimeout(this.#helloTimer);
    this.#throttle.close();
    this.#writer?.close();
    if (this.host === null) return;
    this.#ctx.release(this);
    this.log.debug({ host: this.host, remote: this.remote, closeCode: code }, 'agent disconnected');
  }
}

function byteLength(data: Buffer | ArrayBuffer | Buffer[]): number {
  return Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
}
