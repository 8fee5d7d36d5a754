// The embedded store: one SQLite file (better-sqlite3) in the data directory.
// Writes are queued and committed together in one transaction per tick, which
// is what lets one hub ingest thousands of status messages a second; each
// write's promise resolves after its transaction commits. WAL with
// synchronous=NORMAL survives a crash of the hub process (not of the machine's
// power: the last few milliseconds of writes may then be lost).
//
// A busy database (another process holding the write lock: a backup, an
// operator's sqlite3 shell) must not freeze the hub: better-sqlite3 waits
// synchronously, so the busy timeout is a few milliseconds and a busy batch
// goes back to the front of the queue and is retried with backoff from a
// timer. Its writes' promises stay pending meanwhile, so nothing is acked to
// an agent before it is stored (the agent keeps and resends it); reads go on
// (WAL readers do not wait for the writer).
import Database from 'better-sqlite3';
import type { Attempt, HostStatus } from '../../shared/status.ts';
import { GitfleetError } from '../../shared/errors.ts';
import { sqliteMigrations } from './sqlite-migrations.ts';
import { defaultRetention, enrollmentTokenFromRow, hostRecordFromRow, unseenAttempts, type EnrollmentTokenRow, type HostRow } from './fleet-store.ts';
import type { EnrollmentTokenRecord, FleetStore, HelloRecord, HostRecord, NotifyStateEntry, RetentionPolicy, StoredEvent } from './fleet-store.ts';
import { auditFromRow, boundAuditEntry, DEFAULT_AUDIT_ENTRIES } from './fleet-records.ts';
import type { AuditEntry, AuditRow, HistoryBucket, HistoryPoint, HistoryResolution, StoredAuditEntry } from './fleet-records.ts';
import type { RolloutRecord } from '../rollout/rollout-record.ts';

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Prune a host's history after this many inserts, not on every one. */
const PRUNE_EVERY = 25;
/** How long one write attempt may block the event loop waiting for another process's lock. */
export const BUSY_TIMEOUT_MS = 5;
/** At open (migrations), waiting is fine: nothing is served yet. */
const OPEN_BUSY_TIMEOUT_MS = 5000;
/** Retries of a busy batch: first after this, doubling up to the maximum. */
export const BUSY_RETRY = { firstMs: 20, maxMs: 1000 } as const;

export interface SqliteStoreOptions {
  /** Told when the database turns busy (writes wait) and when it is writable again. */
  onBusy?: (event: { busy: true } | { busy: false; waitedMs: number; writes: number }) => void;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** One line for a database file that cannot be used, with what to do about it. */
function openProblem(file: string, cause: unknown): GitfleetError {
  const code = String((cause as { code?: unknown }).code ?? '');
  const message = (cause as Error).message;
  let advice = 'check the file and its directory';
  if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
    advice = 'the file is damaged or not an SQLite database: stop the hub, restore it from a backup or move it aside (the hub then starts empty and every agent enrolls again)';
  } else if (isBusy(cause)) {
    advice = 'another process holds its lock: stop it (or the other hub using this dataDir) and start the hub again';
  } else if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM')) {
    advice = 'the hub user must be able to read and write the file and its directory';
  }
  return new GitfleetError('CONFIG_INVALID', `hub config: dataDir: cannot use the database ${file}: ${message}; ${advice}`, { cause });
}

export class SqliteFleetStore implements FleetStore {
  readonly #db: Database.Database;
  readonly #retention: RetentionPolicy;
  readonly #pending: PendingWrite[] = [];
  readonly #onBusy: SqliteStoreOptions['onBusy'];
  #flushScheduled = false;
  #closed = false;
  /** Set while a busy batch waits for its retry. */
  #retryTimer: NodeJS.Timeout | null = null;
  #retryDelayMs: number = BUSY_RETRY.firstMs;
  #busySince: number | null = null;
  readonly #insertsSincePrune = new Map<string, number>();
  readonly #stmt: ReturnType<SqliteFleetStore['prepare']>;
  readonly #records: ReturnType<SqliteFleetStore['prepareRecords']>;

  constructor(file: string, retention: RetentionPolicy = defaultRetention, options: SqliteStoreOptions = {}) {
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      db.pragma(`busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      this.#db = db;
      this.migrate(file);
      this.#stmt = this.prepare();
      this.#records = this.prepareRecords();
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    } catch (cause) {
      db?.close();
      throw cause instanceof GitfleetError ? cause : openProblem(file, cause);
    }
    this.#retention = retention;
    this.#onBusy = options.onBusy;
  }

  private migrate(file: string): void {
    const current = this.#db.pragma('user_version', { simple: true }) as number;
    if (current > sqliteMigrations.length) {
      throw new GitfleetError('CONFIG_INVALID', `hub config: dataDir: the database ${file} (schema version ${current}) is newer than this hub (${sqliteMigrations.length}); upgrade the hub`);
    }
    for (let v = current; v < sqliteMigrations.length; v++) {
      this.#db.transaction(() => {
        this.#db.exec(sqliteMigrations[v]!);
        this.#db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private prepare() {
    const db = this.#db;
    return {
      all: db.prepare<[], HostRow>('SELECT * FROM hosts'),
      one: db.prepare<[string], HostRow>('SELECT * FROM hosts WHERE id = ?'),
      enroll: db.prepare(
        `INSERT INTO hosts (id, credential_hash, enrolled_at) VALUES (?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET credential_hash = excluded.credential_hash, enrolled_at = excluded.enrolled_at
         WHERE hosts.credential_hash IS NULL`,
      ),
      reset: db.prepare('UPDATE hosts SET credential_hash = NULL WHERE id = ?'),
      deleteHost: db.prepare('DELETE FROM hosts WHERE id = ?'),
      deleteEvents: db.prepare('DELETE FROM events WHERE host = ?'),
      deleteAttempts: db.prepare('DELETE FROM attempts WHERE host = ?'),
      createToken: db.prepare(
        `INSERT INTO enrollment_tokens (id, name, secret_hash, created_at, expires_at, max_uses, uses, host_pattern, tag)
         VALUES (@id, @name, @secretHash, @createdAt, @expiresAt, @maxUses, @uses, @hostPattern, @tag)`,
      ),
      tokens: db.prepare<[], EnrollmentTokenRow>('SELECT * FROM enrollment_tokens ORDER BY created_at, id'),
      tokenByHash: db.prepare<[string], EnrollmentTokenRow>('SELECT * FROM enrollment_tokens WHERE secret_hash = ?'),
      useToken: db.prepare(
        `UPDATE enrollment_tokens SET uses = uses + 1
         WHERE id = ? AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)`,
      ),
      deleteToken: db.prepare('DELETE FROM enrollment_tokens WHERE id = ?'),
      saveRollout: db.prepare(
        'INSERT INTO rollouts (id, created_at, state, body) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state, body = excluded.body',
      ),
      rollouts: db.prepare<[number], { body: string }>('SELECT body FROM rollouts ORDER BY created_at DESC, id DESC LIMIT ?'),
      hello: db.prepare(
        `UPDATE hosts SET place = ?, tags = ?, agent_version = ?, facts = ?, last_seen_at = ?,
           dropped_events = MAX(dropped_events, ?) WHERE id = ?`,
      ),
      touch: db.prepare('UPDATE hosts SET last_seen_at = ? WHERE id = ?'),
      status: db.prepare('UPDATE hosts SET status = ?, status_at = ?, last_seq = ? WHERE id = ? AND last_seq < ?'),
      bumpSeq: db.prepare('UPDATE hosts SET last_seq = ? WHERE id = ? AND last_seq < ?'),
      event: db.prepare('INSERT INTO events (host, seq, time, level, resource, reason, message) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      events: db.prepare<[string, number], { seq: number | null; time: string; level: StoredEvent['level']; resource: string | null; reason: string; message: string }>(
        'SELECT seq, time, level, resource, reason, message FROM events WHERE host = ? ORDER BY id DESC LIMIT ?',
      ),
      attempt: db.prepare('INSERT OR IGNORE INTO attempts (host, started_at, trigger, body) VALUES (?, ?, ?, ?)'),
      // Arrival order, not the agent's clock (which may have been stepped).
      attempts: db.prepare<[string, number], { body: string }>('SELECT body FROM attempts WHERE host = ? ORDER BY id DESC LIMIT ?'),
      newestAttempt: db.prepare<[string], { started_at: string }>('SELECT started_at FROM attempts WHERE host = ? ORDER BY started_at DESC LIMIT 1'),
      hasAttempt: db.prepare<[string, string, string], { one: number }>('SELECT 1 AS one FROM attempts WHERE host = ? AND started_at = ? AND trigger = ?'),
      pruneEvents: db.prepare(
        'DELETE FROM events WHERE host = ? AND id < (SELECT id FROM events WHERE host = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
      ),
      pruneAttempts: db.prepare(
        'DELETE FROM attempts WHERE host = ? AND id < (SELECT id FROM attempts WHERE host = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
      ),
    };
  }

  private prepareRecords() {
    const db = this.#db;
    return {
      audit: db.prepare('INSERT INTO audit_log (time, actor, address, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      pruneAudit: db.prepare('DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log) - ?'),
      auditPage: db.prepare<[number, number], AuditRow>('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?'),
      history: db.prepare('INSERT INTO fleet_history (resolution, scope, at, counts) VALUES (?, ?, ?, ?) ON CONFLICT (resolution, scope, at) DO UPDATE SET counts = excluded.counts'),
      pruneHistory: db.prepare('DELETE FROM fleet_history WHERE resolution = ? AND at < ?'),
      historyOf: db.prepare<[string, string, string], { at: string; counts: string }>('SELECT at, counts FROM fleet_history WHERE resolution = ? AND scope = ? AND at >= ? ORDER BY at'),
      statusOf: db.prepare<[string], { status: string }>('SELECT status FROM hosts WHERE id = ? AND status IS NOT NULL'),
      notifyState: db.prepare<[], NotifyStateEntry>('SELECT key, body FROM notify_state ORDER BY key'),
      setNotifyState: db.prepare('INSERT INTO notify_state (key, body) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body'),
      dropNotifyState: db.prepare('DELETE FROM notify_state WHERE key = ?'),
    };
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    const e = boundAuditEntry(entry);
    return this.write(() => {
      this.#records.audit.run(e.time, e.actor, e.address, e.action, e.target, e.outcome, e.detail ?? null);
      this.#records.pruneAudit.run(this.#retention.auditEntries ?? DEFAULT_AUDIT_ENTRIES);
    });
  }

  listAudit(query: { before?: number | undefined; limit: number }): Promise<StoredAuditEntry[]> {
    return Promise.resolve(this.#records.auditPage.all(query.before ?? Number.MAX_SAFE_INTEGER, query.limit).map(auditFromRow));
  }

  saveHistory(bucket: HistoryBucket, dropBefore: string): Promise<void> {
    return this.write(() => {
      for (const s of bucket.scopes) this.#records.history.run(bucket.resolution, s.scope, bucket.at, JSON.stringify(s.counts));
      this.#records.pruneHistory.run(bucket.resolution, dropBefore);
    });
  }

  history(resolution: HistoryResolution, scope: string, since: string): Promise<HistoryPoint[]> {
    return Promise.resolve(this.#records.historyOf.all(resolution, scope, since).map((r) => ({ at: r.at, counts: JSON.parse(r.counts) as Record<string, number> })));
  }

  notifyState(): Promise<NotifyStateEntry[]> {
    return Promise.resolve(this.#records.notifyState.all());
  }

  saveNotifyState(changes: ReadonlyArray<{ key: string; body: string | null }>): Promise<void> {
    return this.write(() => {
      for (const c of changes) {
        if (c.body === null) this.#records.dropNotifyState.run(c.key);
        else this.#records.setNotifyState.run(c.key, c.body);
      }
    });
  }

  /** Queues a write for the next batch; resolves with its result after commit. */
  private write<T>(run: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new GitfleetError('INTERNAL', 'the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.#flushScheduled = false;
    if (this.#retryTimer !== null) return; // a busy batch is waiting; its retry flushes everything
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    const results: unknown[] = [];
    try {
      this.#db.transaction(() => {
        for (const w of batch) results.push(w.run());
      })();
    } catch (error) {
      if (isBusy(error)) {
        this.busy(batch);
        return;
      }
      // One bad write must not fail the others: retry them one by one.
      for (let i = 0; i < batch.length; i++) {
        const w = batch[i]!;
        try {
          w.resolve(this.#db.transaction(w.run)());
        } catch (e) {
          if (isBusy(e)) {
            this.busy(batch.slice(i));
            return;
          }
          w.reject(e);
        }
      }
      this.writable();
      return;
    }
    this.writable();
    batch.forEach((w, i) => w.resolve(results[i]));
  }

  /** Puts the writes back in front (order kept) and retries later, off the request path. */
  private busy(writes: PendingWrite[]): void {
    this.#pending.unshift(...writes);
    if (this.#busySince === null) {
      this.#busySince = Date.now();
      this.#retryDelayMs = BUSY_RETRY.firstMs;
      this.#onBusy?.({ busy: true });
    } else {
      this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, BUSY_RETRY.maxMs);
    }
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.flush();
    }, this.#retryDelayMs);
  }

  private writable(): void {
    if (this.#busySince === null) return;
    const waitedMs = Date.now() - this.#busySince;
    this.#busySince = null;
    this.#onBusy?.({ busy: false, waitedMs, writes: this.#pending.length });
  }

  /** Writes waiting for the database (queued or retrying). */
  get pendingWrites(): number {
    return this.#pending.length;
  }

  private prune(host: string, inserted: number): void {
    const n = (this.#insertsSincePrune.get(host) ?? 0) + inserted;
    if (n < PRUNE_EVERY) {
      this.#insertsSincePrune.set(host, n);
      return;
    }
    this.#insertsSincePrune.set(host, 0);
    this.#stmt.pruneEvents.run(host, host, this.#retention.eventsPerHost - 1);
    this.#stmt.pruneAttempts.run(host, host, this.#retention.attemptsPerHost - 1);
  }

  listHosts(): Promise<HostRecord[]> {
    return Promise.resolve(this.#stmt.all.all().map(hostRecordFromRow));
  }

  statuses(ids: readonly string[]): Promise<Array<{ id: string; status: HostStatus }>> {
    const out: Array<{ id: string; status: HostStatus }> = [];
    for (const id of ids) {
      const row = this.#records.statusOf.get(id);
      if (row) out.push({ id, status: JSON.parse(row.status) as HostStatus });
    }
    return Promise.resolve(out);
  }

  getHost(id: string): Promise<HostRecord | null> {
    const row = this.#stmt.one.get(id);
    return Promise.resolve(row === undefined ? null : hostRecordFromRow(row));
  }

  /** Claims the id only while it holds no credential, like the PostgreSQL store: of two racing enrollments one wins. */
  async enroll(id: string, credentialHash: string, at: string): Promise<void> {
    const changes = await this.write(() => this.#stmt.enroll.run(id, credentialHash, at).changes);
    if (changes === 0) throw new GitfleetError('HOST_CLAIMED', `host id ${id} was enrolled by another connection at the same moment; refused`);
  }

  resetCredential(id: string): Promise<void> {
    return this.write(() => void this.#stmt.reset.run(id));
  }

  deleteHost(id: string): Promise<boolean> {
    return this.write(() => {
      this.#stmt.deleteEvents.run(id);
      this.#stmt.deleteAttempts.run(id);
      this.#insertsSincePrune.delete(id);
      return this.#stmt.deleteHost.run(id).changes > 0;
    });
  }

  createEnrollmentToken(token: EnrollmentTokenRecord): Promise<void> {
    return this.write(() => void this.#stmt.createToken.run(token));
  }

  listEnrollmentTokens(): Promise<EnrollmentTokenRecord[]> {
    return Promise.resolve(this.#stmt.tokens.all().map(enrollmentTokenFromRow));
  }

  findEnrollmentToken(secretHash: string): Promise<EnrollmentTokenRecord | null> {
    const row = this.#stmt.tokenByHash.get(secretHash);
    return Promise.resolve(row === undefined ? null : enrollmentTokenFromRow(row));
  }

  useEnrollmentToken(id: string, at: string): Promise<boolean> {
    return this.write(() => this.#stmt.useToken.run(id, at).changes > 0);
  }

  deleteEnrollmentToken(id: string): Promise<boolean> {
    return this.write(() => this.#stmt.deleteToken.run(id).changes > 0);
  }

  saveRollout(r: RolloutRecord): Promise<void> {
    return this.write(() => void this.#stmt.saveRollout.run(r.id, r.createdAt, r.state, JSON.stringify(r)));
  }

  listRollouts(limit: number): Promise<RolloutRecord[]> {
    return Promise.resolve(this.#stmt.rollouts.all(limit).map((row) => JSON.parse(row.body) as RolloutRecord));
  }

  recordHello(id: string, h: HelloRecord): Promise<void> {
    return this.write(
      () => void this.#stmt.hello.run(h.place, JSON.stringify(h.tags), h.agentVersion, JSON.stringify(h.facts), h.seenAt, h.droppedEvents, id),
    );
  }

  touch(id: string, seenAt: string): Promise<void> {
    return this.write(() => void this.#stmt.touch.run(seenAt, id));
  }

  saveStatus(id: string, seq: number, status: HostStatus): Promise<boolean> {
    const body = JSON.stringify(status);
    return this.write(() => {
      const applied = this.#stmt.status.run(body, status.updatedAt, seq, id, seq).changes > 0;
      if (applied) this.prune(id, this.insertNewAttempts(id, status.attempts));
      return applied;
    });
  }

  private insertNewAttempts(host: string, attempts: Attempt[]): number {
    const newest = this.#stmt.newestAttempt.get(host)?.started_at ?? null;
    let inserted = 0;
    for (const a of unseenAttempts(attempts, (x) => this.#stmt.hasAttempt.get(host, x.startedAt, x.trigger) !== undefined, newest)) {
      inserted += this.#stmt.attempt.run(host, a.startedAt, a.trigger, JSON.stringify(a)).changes;
    }
    return inserted;
  }

  appendEvent(id: string, e: StoredEvent): Promise<boolean> {
    return this.write(() => {
      if (e.seq !== undefined && this.#stmt.bumpSeq.run(e.seq, id, e.seq).changes === 0) return false;
      this.#stmt.event.run(id, e.seq ?? null, e.time, e.level, e.resource ?? null, e.reason, e.message);
      this.prune(id, 1);
      return true;
    });
  }

  events(id: string, limit: number): Promise<StoredEvent[]> {
    return Promise.resolve(
      this.#stmt.events.all(id, limit).map((r) => ({
        time: r.time,
        level: r.level,
        reason: r.reason,
        message: r.message,
        ...(r.resource === null ? {} : { resource: r.resource }),
        ...(r.seq === null ? {} : { seq: r.seq }),
      })),
    );
  }

  attempts(id: string, limit: number): Promise<Attempt[]> {
    return Promise.resolve(this.#stmt.attempts.all(id, limit).map((r) => JSON.parse(r.body) as Attempt));
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    // Shutting down: the last writes may wait for a lock a little longer.
    this.#db.pragma(`busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
    this.flush();
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#closed = true;
    for (const w of this.#pending.splice(0)) w.reject(new GitfleetError('INTERNAL', 'the store closed while the database was locked by another process'));
    this.#db.close();
    return Promise.resolve();
  }
}
