// Simulated agents for the rollout tests and benchmark (test/integration/
// rollout-fleet.test.ts, bench/rollout.ts): real WebSockets and the real
// protocol in this process, each from its own loopback address (127.79.x.y)
// as the hosts of a fleet are. An agent does what the real one does with a
// release: it applies the released revision, never a newer one, reporting
// "reconciling" and then Ready at it — or, for a revision the test marks bad
// for it, a failed attempt rolled back to what it ran. It keeps its
// credential, and reconnects after a hub restart unless the test took it
// offline. Each keeps a ledger: every release it was sent, every revision it
// applied.
import WebSocket from 'ws';
import { PROTOCOL_VERSION, encodeMessage, parseHubMessage } from '../../shared/protocol.ts';
import type { AgentMessage, Release } from '../../shared/protocol.ts';
import type { HostStatus, ResourceStatus } from '../../shared/status.ts';
import { emptyFacts } from '../../agent/facts.ts';

export interface SimAgent {
  id: string;
  address: string;
  ws: WebSocket | null;
  credential: string | null;
  seq: number;
  applied: string | null;
  attempted: string | null;
  reconciling: boolean;
  released: Release | null;
  /** Every release received, in order. */
  releases: Release[];
  /** Every revision applied, in order. */
  appliedLog: string[];
  offline: boolean;
  welcomed: boolean;
  timer: NodeJS.Timeout | null;
}

export interface SimFleetOptions {
  url: string;
  token: string;
  ids: readonly string[];
  /** What every agent runs before the test. */
  initialRevision: string;
  /** A revision that fails on this host (it rolls back). */
  fails?: (host: string, revision: string) => boolean;
  /** How long an apply takes, ms (default 20–80, spread). */
  applyMs?: () => number;
  /** The resources a host reports (default: one healthy container/app). */
  resources?: (host: string) => ResourceStatus[];
}

export class SimFleet {
  readonly agents = new Map<string, SimAgent>();
  #url: string;
  readonly #o: SimFleetOptions;
  #closed = false;
  #head: string | null = null;

  constructor(o: SimFleetOptions) {
    this.#o = o;
    this.#url = o.url;
    o.ids.forEach((id, i) => {
      this.agents.set(id, {
        id, address: `127.79.${Math.floor(i / 250) % 256}.${(i % 250) + 1}`, ws: null, credential: null, seq: 0,
        applied: o.initialRevision, attempted: o.initialRevision, reconciling: false, released: null, releases: [], appliedLog: [],
        offline: false, welcomed: false, timer: null,
      });
    });
  }

  /** Connects every agent that is not offline (a few at a time) and waits for their welcomes. */
  async connectAll(): Promise<void> {
    const all = [...this.agents.values()].filter((a) => !a.offline);
    for (let i = 0; i < all.length; i += 50) await Promise.all(all.slice(i, i + 50).map((a) => this.#connect(a)));
  }

  /**
   * The repository's head, as every agent's poll would find it: an agent not
   * under a rollout policy applies it at once (the best case of polling).
   */
  setHead(revision: string): void {
    this.#head = revision;
    for (const a of this.agents.values()) this.#follow(a);
  }

  /** After a hub restart on another port. */
  retarget(url: string): void {
    this.#url = url;
  }

  async setOffline(ids: readonly string[], offline: boolean): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const id of ids) {
      const a = this.agents.get(id)!;
      a.offline = offline;
      if (offline) a.ws?.terminate();
      else waits.push(this.#connect(a));
    }
    await Promise.all(waits);
  }

  welcomed(): number {
    return [...this.agents.values()].filter((a) => a.welcomed).length;
  }

  #connect(a: SimAgent): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed || a.offline) return resolve();
      const ws = new WebSocket(this.#url, { perMessageDeflate: false, handshakeTimeout: 10_000, localAddress: a.address });
      a.ws = ws;
      a.welcomed = false;
      let settled = false;
      const settle = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      ws.on('open', () => {
        const hello: AgentMessage = {
          type: 'hello', protocol: PROTOCOL_VERSION, host: a.id, agentVersion: 'sim', place: 'prod', tags: [], facts: emptyFacts(), droppedEvents: 0,
          ...(a.credential ? { credential: a.credential } : { enrollmentToken: this.#o.token }),
        };
        ws.send(encodeMessage(hello));
      });
      ws.on('message', (data: Buffer) => {
        if (ws !== a.ws) return;
        const m = parseHubMessage(data);
        if (m.type === 'welcome') {
          if (m.hostCredential) a.credential = m.hostCredential;
          a.seq = Math.max(a.seq, m.lastSeq);
          a.welcomed = true;
          this.#report(a);
          settle();
        } else if (m.type === 'release') {
          a.released = m;
          a.releases.push(m);
          this.#follow(a);
        }
      });
      ws.on('error', () => settle());
      ws.on('close', () => {
        settle();
        if (ws !== a.ws) return;
        a.welcomed = false;
        a.ws = null;
        // A hub restart: come back, as the real agent does (with backoff; here a short one).
        if (!this.#closed && !a.offline) setTimeout(() => void this.#connect(a), 100 + Math.random() * 200).unref();
      });
    });
  }

  /** Applies what was released, if it is not what the agent runs; never anything newer. Not under a policy: the head. */
  #follow(a: SimAgent): void {
    const r = a.released;
    const target = r?.underPolicy ? r.revision : this.#head;
    if (!r || target === null || target === a.applied || a.reconciling) return;
    // Like the agent, a revision that failed and was rolled back is not tried again until something newer comes:
    // retrying at once would flip the host between applying and failed faster than the hub stores statuses.
    if (target === a.attempted) return;
    a.reconciling = true;
    a.attempted = target;
    this.#report(a);
    const ms = this.#o.applyMs?.() ?? 20 + Math.random() * 60;
    a.timer = setTimeout(() => {
      a.timer = null;
      a.reconciling = false;
      if (!(this.#o.fails?.(a.id, target) ?? false)) {
        a.applied = target;
        a.appliedLog.push(target);
      }
      this.#report(a);
      // A newer release may have come while applying.
      this.#follow(a);
    }, ms);
    a.timer.unref();
  }

  #report(a: SimAgent): void {
    if (!a.ws || !a.welcomed || a.ws.readyState !== WebSocket.OPEN) return;
    const now = new Date().toISOString();
    const failed = a.attempted !== null && a.attempted !== a.applied && !a.reconciling;
    const status: HostStatus = {
      host: a.id,
      place: 'prod',
      tags: [],
      conditions: [
        { type: 'Ready', status: a.applied !== null, reason: 'Converged', message: `at ${a.applied?.slice(0, 12) ?? 'nothing'}`, lastTransitionTime: now },
        { type: 'Reconciling', status: a.reconciling, reason: a.reconciling ? 'Progressing' : 'Idle', message: '', lastTransitionTime: now },
        { type: 'Stalled', status: failed, reason: failed ? 'HealthCheckFailed' : 'NoBlockingProblem', message: failed ? `revision ${a.attempted!.slice(0, 12)} failed; rolled back` : '', lastTransitionTime: now },
      ],
      lastAppliedRevision: a.applied,
      lastAttemptedRevision: a.attempted,
      resources: this.#o.resources?.(a.id) ?? [{ id: 'container/app', sync: 'InSync', health: 'Healthy', diff: [] }],
      attempts: [],
      updatedAt: now,
    };
    a.ws.send(encodeMessage({ type: 'status', seq: ++a.seq, status }));
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const a of this.agents.values()) {
      if (a.timer) clearTimeout(a.timer);
      a.ws?.terminate();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
