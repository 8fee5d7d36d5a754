// The networked store: PostgreSQL through a connection pool (pg), so several
// hub replicas share one database (docs/hub.md). Every read goes to the
// database — no in-process cache that would hide another replica's writes —
// and every write is one statement (its own transaction), so the seq checks
// hold across replicas: the row lock on the host serializes two replicas
// writing for the same host, and a stale or resent seq changes nothing.
import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import type { Attempt, HostStatus } from '../../shared/status.ts';
import { GitfleetError, messageOf } from '../../shared/errors.ts';
import { MIGRATION_LOCK, postgresMigrations } from './postgres-migrations.ts';
import { databaseEndpoint, withoutPassword } from './postgres-url.ts';
import { defaultRetention, enrollmentTokenFromRow, hostRecordFromRow, unseenAttempts, type EnrollmentTokenRow, type HostRow } from './fleet-store.ts';
import type { EnrollmentTokenRecord, FleetStore, HelloRecord, HostRecord, RetentionPolicy, StoredEvent } from './fleet-store.ts';

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
}

/** Prune a host's history after this many inserts by this process, not on every one. */
const PRUNE_EVERY = 25;

const HOST_COLUMNS = 'id, credential_hash, enrolled_at, place, tags, agent_version, facts, last_seen_at, last_seq, dropped_events, status';

/** PostgreSQL text cannot hold NUL; agents' messages are free text. */
function text(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
}

export class PostgresFleetStore implements FleetStore {
  readonly #pool: Pool;
  readonly #retention: RetentionPolicy;
  readonly #insertsSincePrune = new Map<string, number>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(pool: Pool, retention: RetentionPolicy) {
    this.#pool = pool;
    this.#retention = retention;
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
    return new PostgresFleetStore(pool, options.retention ?? defaultRetention);
  }

  /** Runs one statement, tracked so close() waits for it. */
  private query<R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.#closed) return Promise.reject(new GitfleetError('INTERNAL', 'the store is closed'));
    const running = this.#pool.query<R>(sql, values);
    this.#inFlight.add(running);
    const forget = () => this.#inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }

  async listHosts(): Promise<HostRecord[]> {
    const r = await this.query<HostRow>(`SELECT ${HOST_COLUMNS} FROM hosts ORDER BY id`, []);
    return r.rows.map(hostRecordFromRow);
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
    const r = await this.query(
      `INSERT INTO hosts (id, credential_hash, enrolled_at) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET credential_hash = excluded.credential_hash, enrolled_at = excluded.enrolled_at
       WHERE hosts.credential_hash IS NULL`,
      [id, credentialHash, at],
    );
    if (r.rowCount === 0) throw new GitfleetError('HOST_CLAIMED', `host id ${id} was enrolled by another connection at the same moment; refused`);
  }

  async resetCredential(id: string): Promise<void> {
    await this.query('UPDATE hosts SET credential_hash = NULL WHERE id = $1', [id]);
  }

  /** One statement, so the host and its history go together (data-modifying CTEs all run). */
  async deleteHost(id: string): Promise<boolean> {
    const r = await this.query(
      `WITH e AS (DELETE FROM events WHERE host = $1), a AS (DELETE FROM attempts WHERE host = $1)
       DELETE FROM hosts WHERE id = $1`,
      [id],
    );
    this.#insertsSincePrune.delete(id);
    return (r.rowCount ?? 0) > 0;
  }

  async createEnrollmentToken(t: EnrollmentTokenRecord): Promise<void> {
    await this.query(
      `INSERT INTO enrollment_tokens (id, name, secret_hash, created_at, expires_at, max_uses, uses, host_pattern, tag)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [t.id, text(t.name), t.secretHash, t.createdAt, t.expiresAt, t.maxUses, t.uses, t.hostPattern === null ? null : text(t.hostPattern), t.tag === null ? null : text(t.tag)],
    );
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

  async recordHello(id: string, h: HelloRecord): Promise<void> {
    await this.query(
      `UPDATE hosts SET place = $1, tags = $2, agent_version = $3, facts = $4, last_seen_at = $5,
         dropped_events = GREATEST(dropped_events, $6) WHERE id = $7`,
      [text(h.place), JSON.stringify(h.tags), text(h.agentVersion), JSON.stringify(h.facts), h.seenAt, h.droppedEvents, id],
    );
  }

  async touch(id: string, seenAt: string): Promise<void> {
    await this.query('UPDATE hosts SET last_seen_at = $1 WHERE id = $2', [seenAt, id]);
  }

  /**
   * The snapshot replaces the stored one only above the stored seq, and only
   * attempts the store does not hold yet are inserted (unseenAttempts: a pruned
   * attempt does not come back; a duplicate is ignored), in one statement.
   */
  async saveStatus(id: string, seq: number, status: HostStatus): Promise<boolean> {
    const known = await this.query<{ started_at: string; trigger: string; newest: string | null }>(
      `SELECT a.started_at, a.trigger, (SELECT MAX(started_at) FROM attempts WHERE host = $1) AS newest
         FROM (SELECT 1) AS one LEFT JOIN attempts a ON a.host = $1 AND a.started_at = ANY($2::text[])`,
      [id, status.attempts.map((a) => text(a.startedAt))],
    );
    const stored = new Set(known.rows.filter((r) => r.started_at !== null).map((r) => `${r.started_at} ${r.trigger}`));
    const fresh = unseenAttempts(status.attempts, (a) => stored.has(`${a.startedAt} ${a.trigger}`), known.rows[0]?.newest ?? null);
    const r = await this.query<{ applied: string; inserted: string }>(
      `WITH applied AS (
         UPDATE hosts SET status = $2, status_at = $3, last_seq = $4 WHERE id = $1 AND last_seq < $4 RETURNING id
       ), inserted AS (
         INSERT INTO attempts (host, started_at, trigger, body)
         SELECT $1, a.started_at, a.trigger, a.body
           FROM applied, unnest($5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS a(started_at, trigger, body, n)
          ORDER BY a.n
         ON CONFLICT (host, started_at, trigger) DO NOTHING
         RETURNING 1
       )
       SELECT (SELECT COUNT(*) FROM applied) AS applied, (SELECT COUNT(*) FROM inserted) AS inserted`,
      [
        id,
        JSON.stringify(status),
        status.updatedAt,
        seq,
        fresh.map((a) => text(a.startedAt)),
        fresh.map((a) => text(a.trigger)),
        fresh.map((a: Attempt) => JSON.stringify(a)),
      ],
    );
    const row = r.rows[0]!;
    const applied = Number(row.applied) > 0;
    if (applied) await this.prune(id, Number(row.inserted));
    return applied;
  }

  async appendEvent(id: string, e: StoredEvent): Promise<boolean> {
    const values = [id, e.seq ?? null, text(e.time), text(e.level), e.resource === undefined ? null : text(e.resource), text(e.reason), text(e.message)];
    const r =
      e.seq === undefined
        ? await this.query('INSERT INTO events (host, seq, time, level, resource, reason, message) VALUES ($1, $2, $3, $4, $5, $6, $7)', values)
        : await this.query(
            `WITH bumped AS (UPDATE hosts SET last_seq = $2 WHERE id = $1 AND last_seq < $2 RETURNING id)
             INSERT INTO events (host, seq, time, level, resource, reason, message)
             SELECT $1, $2, $3, $4, $5, $6, $7 FROM bumped`,
            values,
          );
    if (r.rowCount === 0) return false;
    await this.prune(id, 1);
    return true;
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
