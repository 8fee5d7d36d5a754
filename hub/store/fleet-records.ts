// What the hub records besides hosts (docs/hub.md, "Audit log" and
// "History"): the audit log of admin actions and the downsampled time series
// of the fleet's sync states. Both stores keep them with bounded retention.

/** One admin action (or a refused token), as the API returns it. */
export interface AuditEntry {
  time: string;
  /** The token's name (`admin`, `viewer`), or null for a token the hub did not accept. */
  actor: string | null;
  /** The remote address the request came from. */
  address: string;
  /** `reconcile`, `credential.reset`, `host.delete`, `head.refresh`, `enrollment-token.create`/`.revoke`, `rollout.pause`/`.resume`/`.promote`/`.abort`, `login.failed` (docs/api.md). */
  action: string;
  /** What it acted on: `host web-01`, `tag prod/eu`, `all hosts`, a token's id… */
  target: string;
  outcome: 'ok' | 'refused' | 'failed';
  detail?: string | undefined;
}

export interface StoredAuditEntry extends AuditEntry {
  /** Increasing; pages go backwards with `before`. */
  id: number;
}

/** Bounds on one entry, so a caller cannot make the log hold large values. */
export const AUDIT_LIMITS = { action: 64, target: 300, detail: 1000, address: 64, actor: 64 } as const;
/** Entries kept unless hub config `retention.auditEntries` says otherwise (the oldest go first). */
export const DEFAULT_AUDIT_ENTRIES = 10_000;

export function boundAuditEntry(e: AuditEntry): AuditEntry {
  return {
    time: e.time,
    actor: e.actor === null ? null : e.actor.slice(0, AUDIT_LIMITS.actor),
    address: e.address.slice(0, AUDIT_LIMITS.address),
    action: e.action.slice(0, AUDIT_LIMITS.action),
    target: e.target.slice(0, AUDIT_LIMITS.target),
    outcome: e.outcome,
    ...(e.detail === undefined ? {} : { detail: e.detail.slice(0, AUDIT_LIMITS.detail) }),
  };
}

/** `1m` points for a day, `1h` points for a week. */
export type HistoryResolution = '1m' | '1h';
export const historyResolutions: Record<HistoryResolution, { bucketMs: number; keepMs: number }> = {
  '1m': { bucketMs: 60_000, keepMs: 25 * 3_600_000 },
  '1h': { bucketMs: 3_600_000, keepMs: 8 * 24 * 3_600_000 },
};

/** One point of one scope: hosts by sync state (states with no host are left out). */
export interface HistoryPoint {
  /** The bucket's start (ISO time). */
  at: string;
  counts: Record<string, number>;
}

/** The points of one bucket: the whole fleet (scope '') and every tag. */
export interface HistoryBucket {
  resolution: HistoryResolution;
  at: string;
  scopes: Array<{ scope: string; counts: Record<string, number> }>;
}

export interface AuditRow {
  id: number | string;
  time: string;
  actor: string | null;
  address: string;
  action: string;
  target: string;
  outcome: string;
  detail: string | null;
}

export function auditFromRow(r: AuditRow): StoredAuditEntry {
  return {
    id: Number(r.id),
    time: r.time,
    actor: r.actor,
    address: r.address,
    action: r.action,
    target: r.target,
    outcome: r.outcome as AuditEntry['outcome'],
    ...(r.detail === null ? {} : { detail: r.detail }),
  };
}
