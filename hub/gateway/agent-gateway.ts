// The agents' WebSocket endpoint (`/agent`): accepts upgrades on the hub's
// HTTP server, keeps one session per connected host, drops the silent ones,
// and delivers reconcile-now to the hosts asked for. Connections that have not
// authenticated yet are capped (in total and per remote address) and refused
// with 503 at the upgrade beyond the cap, so a flood of idle sockets holds a
// bounded amount of memory and cannot crowd out agents from other addresses.
import type { ClientAddress } from '../client-address.ts';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { AGENT_PATH, MAX_FRAME_BYTES, RELEASE_PROTOCOL } from '../../shared/protocol.ts';
import type { Release } from '../../shared/protocol.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import type { HubMetrics } from '../metrics.ts';
import { AgentSession } from './agent-session.ts';
import { EnrollmentGate } from './enrollment-gate.ts';
import type { SessionContext } from './agent-session.ts';

export interface AgentGatewayOptions {
  store: FleetStore;
  index: FleetIndex;
  metrics: HubMetrics;
  logger: Logger;
  /** The fleet-wide enrollment token, if configured; scoped tokens live in the store. */
  enrollmentToken?: string | undefined;
  /** Enrollment attempts per minute per remote address and per token (default 60 and 600). */
  enrollRate?: { perAddress: number; perToken: number };
  heartbeatMs: number;
  /** Told when a host's session starts and ends here (a cluster records it in the database). */
  onSession?: (host: string, online: boolean) => void;
  /** Told after a host's welcome went out (rollouts send the host its release then). */
  onWelcome?: (host: string) => void;
  /** A connection silent for this long is closed (default: 3 heartbeats). */
  silenceMs?: number;
  helloTimeoutMs?: number;
  /** Connections without a hello yet, in total (default 256) and per remote address (default 32). */
  maxPending?: number;
  maxPendingPerAddress?: number;
  now?: () => Date;
  /** The client's address (hub/client-address.ts: behind a trusted proxy, the one it forwards); default the socket's. */
  clientAddress?: ClientAddress;
}

export const MAX_PENDING = 256;
export const MAX_PENDING_PER_ADDRESS = 32;

export class AgentGateway {
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, AgentSession>();
  readonly #all = new Set<AgentSession>();
  readonly #ctx: SessionContext;
  readonly #helloTimeoutMs: number;
  readonly #sweeper: NodeJS.Timeout;
  readonly #log: Logger;
  readonly #maxPending: number;
  readonly #maxPendingPerAddress: number;
  /** Upgrades not yet authenticated: in total and per remote address. */
  #pending = 0;
  readonly #pendingByAddress = new Map<string, number>();
  /** Upgrades refused for the cap since the last log line (logged at most every 10 s). */
  #refused = 0;
  #refusedLoggedAt = 0;
  readonly #clientAddress: ClientAddress;

  constructor(o: AgentGatewayOptions) {
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
    this.#helloTimeoutMs = o.helloTimeoutMs ?? 10_000;
    const log = o.logger.child({ component: 'agent-gateway' });
    this.#log = log;
    this.#maxPending = o.maxPending ?? MAX_PENDING;
    this.#maxPendingPerAddress = o.maxPendingPerAddress ?? MAX_PENDING_PER_ADDRESS;
    this.#clientAddress = o.clientAddress ?? ((req) => req.socket.remoteAddress ?? '?');
    const now = o.now ?? (() => new Date());
    this.#ctx = {
      store: o.store,
      index: o.index,
      metrics: o.metrics,
      logger: log,
      enrollment: new EnrollmentGate({
        store: o.store,
        head: () => o.index.head,
        fleetToken: o.enrollmentToken,
        logger: log,
        now,
        ...(o.enrollRate ? { perAddress: { limit: o.enrollRate.perAddress, windowMs: 60_000 }, perToken: { limit: o.enrollRate.perToken, windowMs: 60_000 } } : {}),
      }),
      heartbeatMs: o.heartbeatMs,
      now,
      claim: (session) => {
        this.#authenticated.get(session)?.();
        const previous = this.#sessions.get(session.host!);
        this.#sessions.set(session.host!, session);
        o.onSession?.(session.host!, true);
        return previous;
      },
      welcomed: (session) => o.onWelcome?.(session.host!),
      release: (session) => {
        const host = session.host!;
        if (this.#sessions.get(host) !== session) return;
        this.#sessions.delete(host);
        o.metrics.agentsConnected.dec();
        o.index.connected(host, false);
        o.onSession?.(host, false);
        void o.store.touch(host, this.#ctx.now().toISOString()).catch((error: unknown) => log.error({ err: error, host }, 'could not record last-seen time'));
      },
    };
    const silenceMs = o.silenceMs ?? o.heartbeatMs * 3;
    this.#sweeper = setInterval(() => {
      const cutoff = Date.now() - silenceMs;
      for (const s of this.#all) if (s.lastMessageAt < cutoff) s.close('PROTOCOL_INVALID', `no message for ${silenceMs} ms (heartbeat missed)`);
    }, Math.min(silenceMs, 5000));
    this.#sweeper.unref();
  }

  /** Releases a session's pending slot when it authenticates (set until then). */
  readonly #authenticated = new WeakMap<AgentSession, () => void>();

  /** For the HTTP server's `upgrade` event: true when the request was for the agent path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (req.url ?? '').split('?')[0];
    if (path !== AGENT_PATH) return false;
    const address = this.#clientAddress(req);
    const fromAddress = this.#pendingByAddress.get(address) ?? 0;
    if (this.#pending >= this.#maxPending || fromAddress >= this.#maxPendingPerAddress) {
      this.refuse(socket, address, this.#pending >= this.#maxPending ? `${this.#pending} connections are waiting for their hello` : `${fromAddress} connections from ${address} are waiting for their hello`);
      return true;
    }
    // The slot is held from the upgrade until hello authenticates or the socket closes, whichever comes first.
    this.#pending++;
    this.#pendingByAddress.set(address, fromAddress + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.#pending--;
      const n = (this.#pendingByAddress.get(address) ?? 1) - 1;
      if (n <= 0) this.#pendingByAddress.delete(address);
      else this.#pendingByAddress.set(address, n);
    };
    socket.once('close', release);
    // Read here, not in the callback: a closure naming `req` would keep the upgrade request (headers and all)
    // for the life of the session, in the context every closure of this call shares (3,000 sessions, 3,000 kept).
    const remote = `${address}:${req.socket.remotePort ?? '?'}`;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new AgentSession(ws, remote, this.#ctx, this.#helloTimeoutMs);
      this.#authenticated.set(session, release);
      this.#all.add(session);
      ws.on('close', () => {
        release();
        this.#all.delete(session);
      });
    });
    return true;
  }

  /** Connections that have not authenticated yet (for tests and the security docs' numbers). */
  get pendingConnections(): number {
    return this.#pending;
  }

  private refuse(socket: Duplex, address: string, why: string): void {
    this.#refused++;
    const now = Date.now();
    if (now - this.#refusedLoggedAt >= 10_000) {
      this.#log.warn({ refused: this.#refused, address }, `agent connections refused with 503: ${why} (logged at most every 10 s)`);
      this.#refused = 0;
      this.#refusedLoggedAt = now;
    }
    socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /** Closes the connection of `host`, if any (the host was deleted). */
  disconnect(host: string, why: string): boolean {
    const s = this.#sessions.get(host);
    if (!s) return false;
    s.close('AUTH_FAILED', why);
    return true;
  }

  connectedIds(): string[] {
    return [...this.#sessions.keys()];
  }

  /** Sends reconcile-now to those of `hosts` that are connected; returns the ones reached. */
  reconcileNow(hosts: Iterable<string>, reason: string, origin?: 'api' | 'webhook'): string[] {
    const reached: string[] = [];
    for (const id of hosts) {
      const s = this.#sessions.get(id);
      if (!s) continue;
      s.send({ type: 'reconcile-now', reason, ...(origin ? { origin } : {}) });
      reached.push(id);
    }
    return reached;
  }

  /** Sends a rollout release to `host` when it is connected here and speaks protocol 2; false otherwise. */
  sendRelease(host: string, release: Release): boolean {
    const s = this.#sessions.get(host);
    if (!s || s.protocol === null || s.protocol < RELEASE_PROTOCOL) return false;
    s.send(release);
    return true;
  }

  close(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const ws of this.#wss.clients) ws.terminate();
    return new Promise((resolve) => this.#wss.close(() => resolve()));
  }
}
