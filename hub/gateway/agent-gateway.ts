// The agents' WebSocket endpoint (`/agent`): accepts upgrades on the hub's
// HTTP server, keeps one session per connected host, drops the silent ones,
// and delivers reconcile-now to the hosts asked for.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { AGENT_PATH, MAX_FRAME_BYTES } from '../../shared/protocol.ts';
import { hashSecret } from '../auth/secrets.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import type { HubMetrics } from '../metrics.ts';
import { AgentSession } from './agent-session.ts';
import type { SessionContext } from './agent-session.ts';

export interface AgentGatewayOptions {
  store: FleetStore;
  index: FleetIndex;
  metrics: HubMetrics;
  logger: Logger;
  enrollmentToken: string;
  heartbeatMs: number;
  /** A connection silent for this long is closed (default: 3 heartbeats). */
  silenceMs?: number;
  helloTimeoutMs?: number;
  now?: () => Date;
}

export class AgentGateway {
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, AgentSession>();
  readonly #all = new Set<AgentSession>();
  readonly #ctx: SessionContext;
  readonly #helloTimeoutMs: number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(o: AgentGatewayOptions) {
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
    this.#helloTimeoutMs = o.helloTimeoutMs ?? 10_000;
    const log = o.logger.child({ component: 'agent-gateway' });
    this.#ctx = {
      store: o.store,
      index: o.index,
      metrics: o.metrics,
      logger: log,
      enrollmentTokenHash: hashSecret(o.enrollmentToken),
      heartbeatMs: o.heartbeatMs,
      now: o.now ?? (() => new Date()),
      claim: (session) => {
        const previous = this.#sessions.get(session.host!);
        this.#sessions.set(session.host!, session);
        return previous;
      },
      release: (session) => {
        const host = session.host!;
        if (this.#sessions.get(host) !== session) return;
        this.#sessions.delete(host);
        o.metrics.agentsConnected.dec();
        o.index.connected(host, false);
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

  /** For the HTTP server's `upgrade` event: true when the request was for the agent path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (req.url ?? '').split('?')[0];
    if (path !== AGENT_PATH) return false;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
      const session = new AgentSession(ws, remote, this.#ctx, this.#helloTimeoutMs);
      this.#all.add(session);
      ws.on('close', () => this.#all.delete(session));
    });
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

  close(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const ws of this.#wss.clients) ws.terminate();
    return new Promise((resolve) => this.#wss.close(() => resolve()));
  }
}
