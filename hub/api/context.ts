// What the HTTP routes need from the hub, passed in by the composition root.
import type { Logger } from 'pino';
import type { FastifyReply } from 'fastify';
import type { ErrorCode } from '../../shared/errors.ts';
import type { ApiAuth } from '../auth/api-auth.ts';
import type { FleetIndex, HostSummary } from '../fleet/fleet-index.ts';
import type { ChangeFeed } from '../fleet/change-feed.ts';
import type { Reconciler } from '../fleet/reconcile.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import type { HeadTracker } from '../git/head-tracker.ts';
import type { RolloutCoordinator } from '../rollout/coordinator.ts';
import type { HubMetrics } from '../metrics.ts';
import type { AuditLog } from '../audit/audit-log.ts';

export interface ApiContext {
  store: FleetStore;
  index: FleetIndex;
  feed: ChangeFeed<HostSummary>;
  reconciler: Reconciler;
  tracker: HeadTracker | null;
  /** Staged rollouts (docs/rollouts.md); null when the hub has no repo or runs on PostgreSQL. */
  rollouts: RolloutCoordinator | null;
  metrics: HubMetrics;
  auth: ApiAuth;
  /** Admin actions are recorded here (recordAudit in hub/audit/audit-log.ts). */
  audit: AuditLog;
  logger: Logger;
  webhookSecret: string | undefined;
  /** Template for revision links in the web view ({rev} is replaced). */
  commitUrl: string | undefined;
  /** The ref the fleet follows, to ignore pushes to other branches. */
  ref: string | undefined;
  /** hub/web/dist when it exists. */
  webRoot: string | null;
  startedAt: Date;
}

/** Every API error has this shape: `{ "error": { "code": "…", "message": "…" } }`. */
export function sendError(reply: FastifyReply, status: number, code: ErrorCode | 'NOT_FOUND' | 'FORBIDDEN', message: string): FastifyReply {
  return reply.code(status).send({ error: { code, message } });
}
