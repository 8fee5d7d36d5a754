// The audit log (docs/hub.md, "Audit log"): who (the token's name), when,
// from where, what. Every admin route records its action through
// recordAudit(); refused API tokens are recorded as `login.failed`. Writes
// never hold up or fail the action: a store error is logged instead.
//
// "From where" is the request's address as fastify sees it (req.ip): the
// peer's, or the client that a load balancer listed in trustedProxies names
// in X-Forwarded-For (docs/hub.md); behind any other proxy, the proxy's.
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { ApiAuth } from '../auth/api-auth.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import type { AuditEntry } from '../store/fleet-records.ts';

/** What a route says about its action; who, when and from where are taken from the request. */
export interface AuditAction {
  action: string;
  target: string;
  outcome?: AuditEntry['outcome'];
  detail?: string;
}

/** The part of a request the log needs (a FastifyRequest has it). */
export type AuditRequest = Pick<FastifyRequest, 'ip' | 'headers'>;

export class AuditLog {
  constructor(
    private readonly store: FleetStore,
    private readonly auth: ApiAuth,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Records an action; resolves once stored (callers need not wait). */
  record(req: AuditRequest, a: AuditAction): Promise<void> {
    return this.write({ actor: this.auth.roleOf(req.headers.authorization), address: req.ip, ...a });
  }

  /** A presented API token the hub did not accept. The token itself is never recorded. */
  loginFailed(req: AuditRequest & Pick<FastifyRequest, 'method' | 'url'>): Promise<void> {
    return this.write({ actor: null, address: req.ip, action: 'login.failed', target: `${req.method} ${req.url.split('?')[0]}`, outcome: 'refused' });
  }

  private async write(e: Omit<AuditEntry, 'time' | 'outcome'> & { outcome?: AuditEntry['outcome'] }): Promise<void> {
    const entry: AuditEntry = { time: this.now().toISOString(), ...e, outcome: e.outcome ?? 'ok' };
    try {
      await this.store.appendAudit(entry);
    } catch (error) {
      this.logger.error({ err: messageOf(error), action: entry.action, target: entry.target }, 'could not record an audit log entry');
    }
  }
}

/**
 * The one call an admin route makes after it acted (rollouts, notifications
 * and any later admin route too): `recordAudit(ctx, req, { action:
 * 'rollout.pause', target: 'rollout 3f2a9c1d4e5b' })`. Fire and forget.
 */
export function recordAudit(ctx: { audit: AuditLog | null }, req: AuditRequest, a: AuditAction): void {
  void ctx.audit?.record(req, a);
}
