// The hub's persistence, behind one interface so a PostgreSQL store can
// follow the embedded SQLite one (docs/hub.md). Methods are async because a
// networked database will be; writes resolve once durable, which is when the
// gateway acks the agent's seq.
import type { Attempt, HostStatus } from '../../shared/status.ts';
import type { EventLevel, HostFacts } from '../../shared/protocol.ts';
import type { AuditEntry, HistoryBucket, HistoryPoint, HistoryResolution, StoredAuditEntry } from './fleet-records.ts';
import type { RolloutRecord } from '../rollout/rollout-record.ts';

export interface HostRecord {
  id: string;
  /** SHA-256 of the host's credential; null until the host enrolls. */
  credentialHash: string | null;
  enrolledAt: string | null;
  place: string;
  tags: string[];
  agentVersion: string | null;
  facts: HostFacts | null;
  lastSeenAt: string | null;
  /** Highest status/event seq stored for this host. */
  lastSeq: number;
  droppedEvents: number;
  status: HostStatus | null;
}

export interface StoredEvent {
  time: string;
  level: EventLevel;
  reason: string;
  message: string;
  resource?: string | undefined;
  /** Set for events the agent sent; absent for the hub's own (connected, enrolled…). */
  seq?: number | undefined;
}

export interface HelloRecord {
  place: string;
  tags: string[];
  agentVersion: string;
  facts: HostFacts;
  droppedEvents: number;
  seenAt: string;
}

export interface RetentionPolicy {
  /** Newest events kept per host. */
  eventsPerHost: number;
  /** Newest attempts kept per host. */
  attemptsPerHost: number;
  /** Newest audit log entries kept (fleet-records.ts DEFAULT_AUDIT_ENTRIES when absent). */
  auditEntries?: number;
}

export const defaultRetention: RetentionPolicy = { eventsPerHost: 500, attemptsPerHost: 100 };

/** A scoped enrollment token an admin created; only the secret's hash is stored. */
export interface EnrollmentTokenRecord {
  id: string;
  name: string;
  /** SHA-256 of the secret. */
  secretHash: string;
  createdAt: string;
  /** ISO time after which the token enrolls nothing; null: never expires. */
  expiresAt: string | null;
  /** null: unlimited. */
  maxUses: number | null;
  uses: number;
  /** Glob over host ids (`*` any run of characters, `?` one); null: any id. */
  hostPattern: string | null;
  /** The host must be declared in this tag (or below it); null: any tag. */
  tag: string | null;
}

export interface FleetStore {
  /** Every host the hub has ever enrolled, with its latest status. */
  listHosts(): Promise<HostRecord[]>;
  getHost(id: string): Promise<HostRecord | null>;
  /** The latest statuses of these hosts in one read (hosts without a status, or unknown, left out). */
  statuses(ids: readonly string[]): Promise<Array<{ id: string; status: HostStatus }>>;
  /** Creates the host (or claims an unenrolled record) with its credential hash. */
  enroll(id: string, credentialHash: string, at: string): Promise<void>;
  /** Forgets the credential so the host can enroll again (an operator's decision). */
  resetCredential(id: string): Promise<void>;
  /** Removes the host with its status, facts, events and attempts; false when there was none. */
  deleteHost(id: string): Promise<boolean>;
  recordHello(id: string, hello: HelloRecord): Promise<void>;
  touch(id: string, seenAt: string): Promise<void>;
  /** Stores a snapshot (and its new attempts) when seq is above the stored one; false when ignored as stale. */
  saveStatus(id: string, seq: number, status: HostStatus): Promise<boolean>;
  /** Stores an agent event (seq above the stored one) or a hub event (no seq). */
  appendEvent(id: string, event: StoredEvent): Promise<boolean>;
  /** Newest first. */
  events(id: string, limit: number): Promise<StoredEvent[]>;
  /** Newest first. */
  attempts(id: string, limit: number): Promise<Attempt[]>;
  createEnrollmentToken(token: EnrollmentTokenRecord): Promise<void>;
  /** Oldest first. */
  listEnrollmentTokens(): Promise<EnrollmentTokenRecord[]>;
  findEnrollmentToken(secretHash: string): Promise<EnrollmentTokenRecord | null>;
  /**
   * Counts one use, atomically, when the token still exists, has not expired
   * at `at` and is under its maximum; false (nothing counted) otherwise.
   */
  useEnrollmentToken(id: string, at: string): Promise<boolean>;
  /** false when there was no such token. */
  deleteEnrollmentToken(id: string): Promise<boolean>;
  /** Creates or replaces a staged rollout (docs/rollouts.md), stored as one JSON body. */
  saveRollout(rollout: RolloutRecord): Promise<void>;
  /** The newest `limit` rollouts, newest first. */
  listRollouts(limit: number): Promise<RolloutRecord[]>;
  /** Records an admin action; the oldest entries past the retention go. */
  appendAudit(entry: AuditEntry): Promise<void>;
  /** Newest first: `limit` entries with an id below `before` (all when absent). */
  listAudit(query: { before?: number | undefined; limit: number }): Promise<StoredAuditEntry[]>;
  /** Writes (or replaces) one bucket of the fleet history, and drops that resolution's points older than `dropBefore`. */
  saveHistory(bucket: HistoryBucket, dropBefore: string): Promise<void>;
  /** One scope's points ('' is the whole fleet) at a resolution from `since` on, oldest first. */
  history(resolution: HistoryResolution, scope: string, since: string): Promise<HistoryPoint[]>;
  /** Every notification state entry (hub/notify/notify-state.ts): what the replica sending notifications picks up. */
  notifyState(): Promise<NotifyStateEntry[]>;
  /** Writes these entries in one transaction; a null body deletes the key. */
  saveNotifyState(changes: ReadonlyArray<{ key: string; body: string | null }>): Promise<void>;
  close(): Promise<void>;
}

/** One key of the notification state, its body an opaque JSON text. */
export interface NotifyStateEntry {
  key: string;
  body: string;
}

/** An `enrollment_tokens` row as both stores read it. */
export interface EnrollmentTokenRow {
  id: string;
  name: string;
  secret_hash: string;
  created_at: string;
  expires_at: string | null;
  max_uses: number | string | null;
  uses: number | string;
  host_pattern: string | null;
  tag: string | null;
}

export function enrollmentTokenFromRow(row: EnrollmentTokenRow): EnrollmentTokenRecord {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    maxUses: row.max_uses === null ? null : Number(row.max_uses),
    uses: Number(row.uses),
    hostPattern: row.host_pattern,
    tag: row.tag,
  };
}

/** A `hosts` row as both stores read it (PostgreSQL returns BIGINT columns as strings). */
export interface HostRow {
  id: string;
  credential_hash: string | null;
  enrolled_at: string | null;
  place: string;
  tags: string;
  agent_version: string | null;
  facts: string | null;
  last_seen_at: string | null;
  last_seq: number | string;
  dropped_events: number | string;
  status: string | null;
}

export function hostRecordFromRow(row: HostRow): HostRecord {
  return {
    id: row.id,
    credentialHash: row.credential_hash,
    enrolledAt: row.enrolled_at,
    place: row.place,
    tags: JSON.parse(row.tags) as string[],
    agentVersion: row.agent_version,
    facts: row.facts === null ? null : (JSON.parse(row.facts) as HostRecord['facts']),
    lastSeenAt: row.last_seen_at,
    lastSeq: Number(row.last_seq),
    droppedEvents: Number(row.dropped_events),
    status: row.status === null ? null : (JSON.parse(row.status) as HostStatus),
  };
}

/**
 * The attempts of a snapshot that the store does not hold yet, oldest first.
 * An agent lists its recent attempts newest first; the ones before the first
 * attempt already stored are new whatever their timestamps say (a wall clock
 * stepped back must not hide them). When none of the window is stored, only
 * those newer than the newest stored attempt are new: older ones were pruned.
 */
export function unseenAttempts(attempts: readonly Attempt[], isStored: (a: Attempt) => boolean, newestStored: string | null): Attempt[] {
  const firstStored = attempts.findIndex(isStored);
  const unseen = firstStored >= 0 ? attempts.slice(0, firstStored) : newestStored === null ? [...attempts] : attempts.filter((a) => a.startedAt > newestStored);
  return unseen.reverse();
}
