// reconcile-now for a host, a tag's subtree, a push's affected hosts or the
// whole fleet: sent to the connected ones at once (in a cluster, through the
// replica holding each one's session), recorded in their history.
import type { Logger } from 'pino';
import type { AgentGateway } from '../gateway/agent-gateway.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import type { HubMetrics } from '../metrics.ts';

export interface ReconcileOutcome {
  /** Hosts asked for. */
  requested: number;
  /** Hosts that were connected and got the message. */
  reached: string[];
  /** Hosts asked for that are not connected now (they reconcile on their own schedule). */
  notConnected: string[];
}

export class Reconciler {
  constructor(
    private readonly gateway: AgentGateway,
    private readonly store: FleetStore,
    private readonly metrics: HubMetrics,
    private readonly logger: Logger,
    /** In a cluster: hands reconcile-now for hosts connected to other replicas to those; returns the hosts handed on. */
    private readonly remote: ((hosts: readonly string[], reason: string, cause: 'api' | 'webhook') => string[]) | null = null,
  ) {}

  request(hosts: readonly string[], reason: string, cause: 'api' | 'webhook'): ReconcileOutcome {
    const local = this.gateway.reconcileNow(hosts, reason, cause);
    const localSet = new Set(local);
    const reached = this.remote ? [...local, ...this.remote(hosts.filter((h) => !localSet.has(h)), reason, cause)] : local;
    this.metrics.reconcileRequests.inc({ cause }, reached.length);
    const reachedSet = new Set(reached);
    const time = new Date().toISOString();
    for (const id of reached) {
      void this.store
        .appendEvent(id, { time, level: 'info', reason: 'ReconcileRequested', message: reason })
        .catch((error: unknown) => this.logger.error({ err: error, host: id }, 'could not record a reconcile request'));
    }
    this.logger.info({ cause, requested: hosts.length, reached: reached.length }, `reconcile-now: ${reason}`);
    return { requested: hosts.length, reached, notConnected: hosts.filter((h) => !reachedSet.has(h)) };
  }
}
