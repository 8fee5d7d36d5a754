// The networked store: PostgreSQL through a connection pool (pg), so several
// hub replicas share one database (docs/hub.md). Every read goes to the
// database — no in-process cache that would hide another replica's writes.
// The reports' writes are batched per tick (postgres-batch.ts), each still
// conditional on the stored seq, so the seq checks hold across replicas: the
// row lock on the host serializes two replicas writing for the same host, and
// a stale or resent seq changes nothing. The same transactions send the
// change notices the other replicas follow (hub/cluster).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import type { Attempt, HostStatus } from '../../shared/status.ts';
import { GitfleetError, messageOf } from '../../shared/errors.ts';
import { MIGRATION_LOCK, postgresMigrations } from './postgres-migrations.ts';
import { WriteBatcher, pgText as text } from './postgres-batch.ts';
import type { IndexRecord } from '../fleet/fleet-index.ts';
import type { HostDigest } from '../fleet/host-digest.ts';
import { digestStatus } from '../fleet/host-digest.ts';
import { databaseEndpoint, withoutPassword } from './postgres-url.ts';
import { defaultRetention, enrollmentTokenFromRow, hostRecordFromRow, type EnrollmentTokenRow, type HostRow } from './fleet-store.ts';
import type { EnrollmentTokenRecord, FleetStore, HelloRecord, HostRecord, NotifyStateEntry, RetentionPolicy, StoredEvent } from './fleet-store.ts';
import { auditFromRow, boundAuditEntry, DEFAULT_AUDIT_ENTRIES } from './fleet-records.ts';
import type { AuditEntry, AuditRow, HistoryBucket, HistoryPoint, HistoryResolution, StoredAuditEntry } from './fleet-records.ts';
import type { RolloutRecord } from '../rollout/rollout-record.ts';

interface EventRow {
  seq: string | null;
  time: string;
  level: StoredEvent['level'];
  resource: string | null;
  reason: string;
  message: string;
}

export interface PostgresStoreOptions {
  retention?: RetentionPolicy;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How long opening may wait for the first connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Errors of idle pooled connections (the database restarted…); the pool replaces them. */
  onIdleError?: (error: Error) => void;
  /** This process's name among the replicas (default: random); its change notices carry it. */
  replicaId?: string;
  /** A batch of writes failed as a whole (each write is then tried on its own). */
  onBatchError?: (error: unknown, writes: number) => void;
  /** Pruning a host's events or attempts past the retention failed; it is tried again after PRUNE_EVERY more writes. */
  onPruneError?: (error: unknown, host: string) => void;
}

interface IndexRow {
  id: string;
  place: string;
  tags: string;
  agent_version: string | null;
  last_seen_at: string | null;
  enrolled: boolean;
  digest: string | null;
  status: string | null;
  session_replica: string | null;
}

const INDEX_COLUMNS =
  'id, place, tags, agent_version, last_seen_at, credential_hash IS NOT NULL AS enrolled, digest, CASE WHEN digest IS NULL THEN status END AS status, session_replica';

function indexRecordFromRow(row: IndexRow): IndexRecord {
  // Rows written before migration 3 have no digest yet: it is computed from the status once.
  const digest: HostDigest | null = row.digest !== null ? (JSON.parse(row.digest) as HostDigest) : row.status !== null ? digestStatus(JSON.parse(row.status) as HostStatus) : null;
  return {
    id: row.id,
    place: row.place,
    tags: JSON.parse(row.tags) as string[],
    agentVersion: row.agent_version,
    lastSeenAt: row.last_seen_at,
    enrolled: row.enrolled,
    digest,
    sessionReplica: row.session_replica,
  };
}

/** Prune a host's history after this many inserts by this process, not on every one. */
const PRUNE_EVERY = 25;

const HOST_COLUMNS = 'id, credential_hash, enrolled_at, place, tags, agent_version, facts, last_seen_at, last_seq, dropped_events, status';

export class PostgresFleetStore implements FleetStore {
  readonly #pool: Pool;
  readonly #retention: RetentionPolicy;
  readonly #insertsSincePrune = new Map<string, number>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #batcher: WriteBatcher;
  readonly #url: string;
  readonly replicaId: string;
  #closed = false;
  /** Writes of this replica queued or being written, per host (watchLocalWrites). */
  readonly #writing = new Map<string, number>();
  readonly #writeWatches = new Set<Set<string>>();

  private constructor(pool: Pool, url: string, retention: RetentionPolicy, replicaId: string, handlers: Pick<PostgresStoreOptions, 'onBatchError' | 'onPruneError'>) {
    this.#pool = pool;
    this.#url = url;
    this.#retention = retention;
    this.replicaId = replicaId;
    // Retention is eventual: a prune that fails does not fail the write that
    // triggered it, and the next one catches up; but it is reported, so a prune
    // that keeps failing (a statement timeout on a huge table) is seen before
    // the tables grow without bound.
    this.#batcher = new WriteBatcher(pool, replicaId, (inserted) => {
      for (const [host, n] of inserted) void this.track(this.prune(host, n).catch((error: unknown) => handlers.onPruneError?.(error, host)));
    }, handlers.onBatchError);
  }

  /** Batches and rows written (for the benchmarks). */
  get batchStats(): { batches: number; writes: number; fallbacks: number } {
    return { batches: this.#batcher.batches, writes: this.#batcher.writes, fallbacks: this.#batcher.fallbacks };
  }

  /**
   * Connects, applies pending migrations and returns the store. A database
   * that cannot be reached or is newer than this hub fails with one
   * CONFIG_INVALID line naming host:port/database, never the password.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresFleetStore> {
    const endpoint = databaseEndpoint(url);
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      application_name: 'gitfleet-hub',
    });
    // Without a listener an idle connection's error (a database restart) would crash the hub.
    pool.on('error', (error) => options.onIdleError?.(error));
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (cause) {
      await pool.end().catch(() => {});
      throw new GitfleetError('CONFIG_INVALID', `hub config: database: cannot connect to PostgreSQL at ${endpoint}: ${withoutPassword(describe(cause), url)}`, { cause });
    }
    try {
      await migrate(client, endpoint);
    } catch (cause) {
      client.release();
      await pool.end().catch(() => {});
      if (cause instanceof GitfleetError) throw cause;
      throw new GitfleetError('CONFIG_INVALID', `hub config: database: cannot prepare the schema in ${endpoint}: ${withoutPassword(describe(cause), url)}`, { cause });
    }
    client.release();
    return new PostgresFleetStore(pool, url, options.retention ?? defaultRetention, options.replicaId ?? randomBytes(6).toString('hex'), options);
  }

  private track<T>(running: Promise<T>): Promise<T> {
    this.#inFlight.add(running);
    const forget = () => this.#inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }

  private write(op: Parameters<WriteBatcher['write']>[0]): Promise<boolean> {
    if (this.#closed) return Promise.reject(new GitfleetError('INTERNAL', 'the store is closed'));
    return this.writingTo(op.host, this.track(this.#batcher.write(op)));
  }

  /** Counts `running`, a write of this replica to `host`, until it settles (watchLocalWrites). */
  private writingTo<T>(host: string, running: Promise<T>): Promise<T> {
    this.#writing.set(host, (this.#writing.get(host) ?? 0) + 1);
    for (const seen of this.#writeWatches) seen.add(host);
    const settled = () => {
      const left = (this.#writing.get(host) ?? 1) - 1;
      if (left > 0) this.#writing.set(host, left);
      else this.#writing.delete(host);
      for (const seen of this.#writeWatches) seen.add(host);
    };
    running.then(settled, settled);
    return running;
  }

  /**
   * Starts watching this replica's writes; the function returned stops and
   * says, for a host, whether this replica was writing it at any time in
   * between (a write started or settled meanwhile, or one still under way).
   * A row read back in between may be older than this replica's index for
   * such a host: the index took the write once stored, possibly after the
   * read's snapshot (hub/cluster/change-follower.ts reads it again instead).
   * Ask at once: the answer is for the moment the watch stopped.
   */
  watchLocalWrites(): () => (host: string) => boolean {
    const seen = new Set<string>();
    this.#writeWatches.add(seen);
    return () => {
      this.#writeWatches.delete(seen);
      return (host) => seen.has(host) || this.#writing.has(host);
    };
  }

  /** Runs one statement, tracked so close() waits for it. */
  private query<R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.#closed) return Promise.reject(new GitfleetError('INTERNAL', 'the store is closed'));
    return this.track(this.#pool.query<R>(sql, values));
  }

  async listHosts(): Promise<HostRecord[]> {
    const r = await this.query<HostRow>(`SELECT ${HOST_COLUMNS} FROM hosts ORDER BY id`, []);
    return r.rows.map(hostRecordFromRow);
  }

  async statuses(ids: readonly string[]): Promise<Array<{ id: string; status: HostStatus }>> {
    if (ids.length === 0) return [];
    const r = await this.query<{ id: string; status: string }>('SELECT id, status FROM hosts WHERE id = ANY($1::text[]) AND status IS NOT NULL', [ids]);
    return r.rows.map((row) => ({ id: row.id, status: JSON.parse(row.status) as HostStatus }));
  }

  async getHost(id: string): Promise<HostRecord | null> {
    const r = await this.query<HostRow>(`SELECT ${HOST_COLUMNS} FROM hosts WHERE id = $1`, [id]);
    return r.rows[0] ? hostRecordFromRow(r.rows[0]) : null;
  }

  /**
   * Claims the id only while it holds no credential: when two replicas race
   * to enroll one id, exactly one wins and the other is refused HOST_CLAIMED
   * (the gateway checked for a credential just before, so this only happens
   * in a race).
   */
  async enroll(id: string, credentialHash: string, at: string): Promise<void> {
    const r = await this.writingTo(
      id,
      this.query(
        `INSERT INTO hosts (id, credential_hash, enrolled_at) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET credential_hash = excluded.credential_hash, enrolled_at = excluded.enrolled_at, changed_at = clock_timestamp()
       WHERE hosts.credential_hash IS NULL`,
        [id, credentialHash, at],
      ),
    );
    if (r.rowCount === 0) throw new GitfleetError('HOST_CLAIMED', `host id ${id} was enrolled by another connection at the same moment; refused`);
    this.#batcher.notice(id);
  }

  async resetCredential(id: string): Promise<void> {
    await this.writingTo(id, this.query('UPDATE hosts SET credential_hash = NULL, changed_at = clock_timestamp() WHERE id = $1', [id]));
    this.#batcher.notice(id);
  }

  /** One statement, so the host and its history go together (data-modifying CTEs all run). */
  async deleteHost(id: string): Promise<boolean> {
    const r = await this.writingTo(
      id,
      this.query(
        `WITH e AS (DELETE FROM events WHERE host = $1), a AS (DELETE FROM attempts WHERE host = $1)
       DELETE FROM hosts WHERE id = $1`,
        [id],
      ),
    );
    this.#insertsSincePrune.delete(id);
    this.#batcher.notice(id);
    return (r.rowCount ?? 0) > 0;
  }

  /** One statement: the insert and the prune of entries past the retention. */
  async appendAudit(entry: AuditEntry): Promise<void> {
    const e = boundAuditEntry(entry);
    await this.query(
      `WITH added AS (
         INSERT INTO audit_log (time, actor, address, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
       )
       DELETE FROM audit_log WHERE id <= (SELECT id FROM added) - $8`,
      [e.time, e.actor === null ? null : text(e.actor), text(e.address), text(e.action), text(e.target), e.outcome, e.detail === undefined ? null : text(e.detail), this.#retention.auditEntries ?? DEFAULT_AUDIT_ENTRIES],
    );
  }

  async listAudit(query: { before?: number | undefined; limit: number }): Promise<StoredAuditEntry[]> {
    const r = await this.query<AuditRow>('SELECT * FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2', [query.before ?? Number.MAX_SAFE_INTEGER, query.limit]);
    return r.rows.map(auditFromRow);
  }

  /** The bucket's rows as one JSON recordset (one round trip whatever the number of tags), then the prune. */
  async saveHistory(bucket: HistoryBucket, dropBefore: string): Promise<void> {
    const rows = bucket.scopes.map((s) => ({ scope: text(s.scope), counts: JSON.stringify(s.counts) }));
    await this.query(
      `INSERT INTO fleet_history (resolution, scope, at, counts)
       SELECT $1, r.scope, $2, r.counts FROM json_to_recordset($3::json) AS r(scope TEXT, counts TEXT)
       ON CONFLICT (resolution, scope, at) DO UPDATE SET counts = excluded.counts`,
      [bucket.resolution, bucket.at, JSON.stringify(rows)],
    );
    await this.query('DELETE FROM fleet_history WHERE resolution = $1 AND at < $2', [bucket.resolution, dropBefore]);
  }

  async notifyState(): Promise<NotifyStateEntry[]> {
    return (await this.query<NotifyStateEntry>('SELECT key, body FROM notify_state ORDER BY key', [])).rows;
  }

  /** One statement (so one transaction): the deletions, then the upserts; the caller names each key once. */
  async saveNotifyState(changes: ReadonlyArray<{ key: string; body: string | null }>): Promise<void> {
    if (changes.length === 0) return;
    const dropped = changes.filter((c) => c.body === null).map((c) => text(c.key));
    const set = changes.filter((c) => c.body !== null).map((c) => ({ key: text(c.key), body: text(c.body!) }));
    await this.query(
      `WITH dropped AS (DELETE FROM notify_state WHERE key = ANY($1::text[]))
       INSERT INTO notify_state (key, body) SELECT r.key, r.body FROM json_to_recordset($2::json) AS r(key TEXT, body TEXT)
       ON CONFLICT (key) DO UPDATE SET body = excluded.body`,
      [dropped, JSON.stringify(set)],
    );
  }

  async history(resolution: HistoryResolution, scope: string, since: string): Promise<HistoryPoint[]> {
    const r = await this.query<{ at: string; counts: string }>('SELECT at, counts FROM fleet_history WHERE resolution = $1 AND scope = $2 AND at >= $3 ORDER BY at', [resolution, scope, since]);
    return r.rows.map((row) => ({ at: row.at, counts: JSON.parse(row.counts) as Record<string, number> }));
  }

  async createEnrollmentToken(t: EnrollmentTokenRecord): Promise<void> {
    await this.query(
      `INSERT INTO enrollment_tokens (id, name, secret_hash, created_at, expires_at, max_uses, uses, host_pattern, tag)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [t.id, text(t.name), t.secretHash, t.createdAt, t.expiresAt, t.maxUses, t.uses, t.hostPattern === null ? null : text(t.hostPattern), t.tag === null ? null : text(t.tag)],
    );
  }

  async saveRollout(r: RolloutRecord): Promise<void> {
    await this.query(
      `INSERT INTO rollouts (id, created_at, state, body) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, body = excluded.body`,
      [r.id, r.createdAt, r.state, JSON.stringify(r)],
    );
  }

  async listRollouts(limit: number): Promise<RolloutRecord[]> {
    const r = await this.query<{ body: string }>('SELECT body FROM rollouts ORDER BY created_at DESC, id DESC LIMIT $1', [limit]);
    return r.rows.map((row) => JSON.parse(row.body) as RolloutRecord);
  }

  async listEnrollmentTokens(): Promise<EnrollmentTokenRecord[]> {
    const r = await this.query<EnrollmentTokenRow>('SELECT * FROM enrollment_tokens ORDER BY created_at, id', []);
    return r.rows.map(enrollmentTokenFromRow);
  }

  async findEnrollmentToken(secretHash: string): Promise<EnrollmentTokenRecord | null> {
    const r = await this.query<EnrollmentTokenRow>('SELECT * FROM enrollment_tokens WHERE secret_hash = $1', [secretHash]);
    return r.rows[0] ? enrollmentTokenFromRow(r.rows[0]) : null;
  }

  /** The row lock serializes replicas: the last use is counted once. */
  async useEnrollmentToken(id: string, at: string): Promise<boolean> {
    const r = await this.query(
      `UPDATE enrollment_tokens SET uses = uses + 1
       WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2) AND (max_uses IS NULL OR uses < max_uses)`,
      [id, at],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async deleteEnrollmentToken(id: string): Promise<boolean> {
    const r = await this.query('DELETE FROM enrollment_tokens WHERE id = $1', [id]);
    return (r.rowCount ?? 0) > 0;
  }

  async recordHello(id: string, hello: HelloRecord): Promise<void> {
    await this.write({ kind: 'hello', host: id, hello });
  }

  async touch(id: string, seenAt: string): Promise<void> {
    await this.write({ kind: 'touch', host: id, seenAt });
  }

  /**
   * The snapshot replaces the stored one only above the stored seq, and only
   * attempts the store does not hold yet are inserted (unseenAttempts: a pruned
   * attempt does not come back; a duplicate is ignored), in one transaction
   * with the other writes of this tick.
   */
  saveStatus(id: string, seq: number, status: HostStatus): Promise<boolean> {
    return this.write({ kind: 'status', host: id, seq, status });
  }

  appendEvent(id: string, event: StoredEvent): Promise<boolean> {
    return this.write({ kind: 'event', host: id, event });
  }

  /** Records that `replica` holds the host's agent session (its connectivity on every replica). */
  async claimSession(id: string, replica: string): Promise<void> {
    await this.write({ kind: 'session', host: id, replica, by: replica });
  }

  /** Forgets the session, only while `replica` still holds it (the agent may have moved on). */
  async releaseSession(id: string, replica: string): Promise<void> {
    await this.write({ kind: 'session', host: id, replica: null, by: replica });
  }

  // ---- What the replicas of a cluster read and share (hub/cluster) ----

  /** A connection of its own (LISTEN, the leader's lock, the replica's liveness): not from the pool. */
  async dedicatedClient(role: 'follow' | 'leader' | 'liveness'): Promise<pg.Client> {
    // Named by role, so an operator (or a test) can tell the connections apart in pg_stat_activity.
    const client = new pg.Client({ connectionString: this.#url, application_name: `gitfleet-hub-${role}`, connectionTimeoutMillis: 10_000 });
    // Listening before connect: a connection ended right after it was ready (pg_terminate_backend, a failover)
    // can report it in the same read as the ready message, before the caller has attached its own listener,
    // and an 'error' nobody listens to ends the hub. The caller still learns: 'end' follows, and queries fail.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  /** The index's view of these hosts; ids with no row are absent (deleted). */
  async indexRecords(ids: readonly string[]): Promise<IndexRecord[]> {
    const r = await this.query<IndexRow>(`SELECT ${INDEX_COLUMNS} FROM hosts WHERE id = ANY($1::text[])`, [ids]);
    return r.rows.map(indexRecordFromRow);
  }

  /** Every host's index view, and the database time the read started (the follower's watermark). */
  async allIndexRecords(): Promise<{ records: IndexRecord[]; at: Date }> {
    const now = await this.query<{ now: Date }>('SELECT clock_timestamp() AS now', []);
    const r = await this.query<IndexRow>(`SELECT ${INDEX_COLUMNS} FROM hosts`, []);
    return { records: r.rows.map(indexRecordFromRow), at: now.rows[0]!.now };
  }

  /**
   * Hosts changed since `since` minus `marginMs` (a transaction's rows carry
   * the time it wrote them, and it may commit later), every host id (to see
   * deletions), and the database time the read started.
   */
  async changedSince(since: Date, marginMs: number): Promise<{ records: IndexRecord[]; ids: string[]; at: Date }> {
    const now = await this.query<{ now: Date }>('SELECT clock_timestamp() AS now', []);
    const r = await this.query<IndexRow>(`SELECT ${INDEX_COLUMNS} FROM hosts WHERE changed_at > $1::timestamptz - make_interval(secs => $2::float8 / 1000)`, [since, marginMs]);
    const ids = await this.query<{ id: string }>('SELECT id FROM hosts', []);
    return { records: r.rows.map(indexRecordFromRow), ids: ids.rows.map((row) => row.id), at: now.rows[0]!.now };
  }

  /** Runs on `via` (a dedicated connection) when given, else on the pool; tracked so close() waits for it. */
  private queryOn<R extends pg.QueryResultRow>(via: pg.ClientBase | undefined, sql: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (via === undefined) return this.query<R>(sql, values);
    if (this.#closed) return Promise.reject(new GitfleetError('INTERNAL', 'the store is closed'));
    return this.track(via.query<R>(sql, values));
  }

  /**
   * This replica is alive (its heartbeat); returns the replicas seen within `windowMs`, itself included.
   * `via`: the replica's liveness connection, so a beat never waits behind the pool's reads and writes.
   */
  async replicaHeartbeat(address: string, windowMs: number, via?: pg.ClientBase): Promise<string[]> {
    await this.queryOn(
      via,
      `INSERT INTO hub_replicas (id, address) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET seen_at = now(), address = excluded.address`,
      [this.replicaId, text(address)],
    );
    const r = await this.queryOn<{ id: string }>(via, `SELECT id FROM hub_replicas WHERE seen_at > now() - make_interval(secs => $1::float8 / 1000)`, [windowMs]);
    return r.rows.map((row) => row.id);
  }

  /**
   * The leader's sweep: sessions held by replicas not seen within `windowMs`
   * are forgotten (those hosts are offline until they reconnect), and
   * replicas gone for an hour are removed. Returns the hosts changed.
   */
  async sweepDeadReplicas(windowMs: number, via?: pg.ClientBase): Promise<string[]> {
    const r = await this.queryOn<{ id: string }>(
      via,
      `UPDATE hosts SET session_replica = NULL, changed_at = clock_timestamp()
        WHERE session_replica IS NOT NULL
          AND session_replica NOT IN (SELECT id FROM hub_replicas WHERE seen_at > now() - make_interval(secs => $1::float8 / 1000))
        RETURNING id`,
      [windowMs],
    );
    await this.queryOn(via, `DELETE FROM hub_replicas WHERE seen_at < now() - interval '1 hour'`, []);
    for (const row of r.rows) this.#batcher.notice(row.id);
    return r.rows.map((row) => row.id);
  }

  /**
   * Records this replica as the holder of these sessions where the database
   * says otherwise (the leader swept them while this replica could not beat,
   * e.g. during a database outage). Returns the hosts changed.
   */
  async reassertSessions(ids: readonly string[], via?: pg.ClientBase): Promise<string[]> {
    if (ids.length === 0) return [];
    const r = await this.queryOn<{ id: string }>(
      via,
      `UPDATE hosts SET session_replica = $1, changed_at = clock_timestamp()
        WHERE id IN (SELECT value FROM json_array_elements_text($2::json)) AND session_replica IS DISTINCT FROM $1 RETURNING id`,
      [this.replicaId, JSON.stringify(ids)],
    );
    for (const row of r.rows) this.#batcher.notice(row.id);
    return r.rows.map((row) => row.id);
  }

  /** A replica shutting down: its sessions are released at once and it leaves the replica list. */
  async leaveCluster(): Promise<void> {
    await this.#batcher.drain();
    const r = await this.query<{ id: string }>(`UPDATE hosts SET session_replica = NULL, changed_at = clock_timestamp() WHERE session_replica = $1 RETURNING id`, [this.replicaId]);
    await this.query('DELETE FROM hub_replicas WHERE id = $1', [this.replicaId]);
    for (const row of r.rows) this.#batcher.notice(row.id);
    await this.#batcher.drain();
  }

  /** Messages to every replica listening on `channel` (each payload under 8000 bytes), in one statement. */
  async publish(channel: string, payloads: readonly string[], via?: pg.ClientBase): Promise<void> {
    if (payloads.length === 0) return;
    await this.queryOn(via, 'SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]);
  }

  /** The repo head the leader read, for the other replicas. */
  async saveHead(revision: string, body: string): Promise<void> {
    await this.query(
      `INSERT INTO fleet_head (singleton, revision, body) VALUES (true, $1, $2)
       ON CONFLICT (singleton) DO UPDATE SET revision = excluded.revision, body = excluded.body, updated_at = now()`,
      [revision, body],
    );
  }

  async loadHead(): Promise<{ revision: string; body: string } | null> {
    const r = await this.query<{ revision: string; body: string }>('SELECT revision, body FROM fleet_head', []);
    return r.rows[0] ?? null;
  }

  private async prune(host: string, inserted: number): Promise<void> {
    const n = (this.#insertsSincePrune.get(host) ?? 0) + inserted;
    if (n < PRUNE_EVERY) {
      this.#insertsSincePrune.set(host, n);
      return;
    }
    this.#insertsSincePrune.set(host, 0);
    for (const [table, keep] of [
      ['events', this.#retention.eventsPerHost],
      ['attempts', this.#retention.attemptsPerHost],
    ] as const) {
      await this.query(`DELETE FROM ${table} WHERE host = $1 AND id < (SELECT id FROM ${table} WHERE host = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`, [host, keep - 1]);
    }
  }

  async events(id: string, limit: number): Promise<StoredEvent[]> {
    const r = await this.query<EventRow>('SELECT seq, time, level, resource, reason, message FROM events WHERE host = $1 ORDER BY id DESC LIMIT $2', [id, limit]);
    return r.rows.map((row) => ({
      time: row.time,
      level: row.level,
      reason: row.reason,
      message: row.message,
      ...(row.resource === null ? {} : { resource: row.resource }),
      ...(row.seq === null ? {} : { seq: Number(row.seq) }),
    }));
  }

  async attempts(id: string, limit: number): Promise<Attempt[]> {
    const r = await this.query<{ body: string }>('SELECT body FROM attempts WHERE host = $1 ORDER BY id DESC LIMIT $2', [id, limit]);
    return r.rows.map((row) => JSON.parse(row.body) as Attempt);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#batcher.drain();
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    await this.#pool.end();
  }
}

/** pg's connection errors are sometimes AggregateErrors with an empty message. */
function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(describe).join('; ');
  const code = (error as { code?: unknown }).code;
  const message = messageOf(error);
  return message || (typeof code === 'string' ? code : 'unknown error');
}

async function migrate(client: PoolClient, endpoint: string): Promise<void> {
  await client.query('BEGIN');
  try {
    // Held until COMMIT: a second replica starting now waits here, then finds the work done.
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS gitfleet_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const r = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM gitfleet_migrations');
    const current = r.rows[0]?.v ?? 0;
    if (current > postgresMigrations.length) {
      throw new GitfleetError(
        'CONFIG_INVALID',
        `hub config: database: the schema in ${endpoint} (version ${current}) is newer than this hub (${postgresMigrations.length}); upgrade the hub`,
      );
    }
    for (let v = current; v < postgresMigrations.length; v++) {
      await client.query(postgresMigrations[v]!);
      await client.query('INSERT INTO gitfleet_migrations (version) VALUES ($1)', [v + 1]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
