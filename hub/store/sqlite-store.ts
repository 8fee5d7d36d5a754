// The embedded store: one SQLite file (better-sqlite3) in the data directory.
// Writes are queued and committed together in one transaction per tick, which
// is what lets one hub ingest thousands of status messages a second; each
// write's promise resolves after its transaction commits. WAL with
// synchronous=NORMAL survives a crash of the hub process (not of the machine's
// power: the last few milliseconds of writes may then be lost).
import Database from 'better-sqlite3';
import type { Attempt, HostStatus } from '../../shared/status.ts';
import { GitfleetError } from '../../shared/errors.ts';
import { sqliteMigrations } from './sqlite-migrations.ts';
import { defaultRetention, hostRecordFromRow, type HostRow } from './fleet-store.ts';
import type { FleetStore, HelloRecord, HostRecord, RetentionPolicy, StoredEvent } from './fleet-store.ts';

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Prune a host's history after this many inserts, not on every one. */
const PRUNE_EVERY = 25;

export class SqliteFleetStore implements FleetStore {
  readonly #db: Database.Database;
  readonly #retention: RetentionPolicy;
  readonly #pending: PendingWrite[] = [];
  #flushScheduled = false;
  #closed = false;
  /** Newest attempt start time stored per host, so a snapshot inserts only new attempts. */
  readonly #newestAttempt = new Map<string, string>();
  readonly #insertsSincePrune = new Map<string, number>();
  readonly #stmt: ReturnType<SqliteFleetStore['prepare']>;

  constructor(file: string, retention: RetentionPolicy = defaultRetention) {
    try {
      this.#db = new Database(file);
    } catch (cause) {
      throw new GitfleetError('CONFIG_INVALID', `dataDir: cannot open the database ${file}: ${(cause as Error).message}`, { cause });
    }
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#retention = retention;
    this.migrate();
    this.#stmt = this.prepare();
  }

  private migrate(): void {
    const current = this.#db.pragma('user_version', { simple: true }) as number;
    if (current > sqliteMigrations.length) {
      throw new GitfleetError('CONFIG_INVALID', `dataDir: the database schema (version ${current}) is newer than this hub (${sqliteMigrations.length}); upgrade the hub`);
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
         ON CONFLICT (id) DO UPDATE SET credential_hash = excluded.credential_hash, enrolled_at = excluded.enrolled_at`,
      ),
      reset: db.prepare('UPDATE hosts SET credential_hash = NULL WHERE id = ?'),
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
      attempts: db.prepare<[string, number], { body: string }>('SELECT body FROM attempts WHERE host = ? ORDER BY started_at DESC, id DESC LIMIT ?'),
      newestAttempt: db.prepare<[string], { started_at: string }>('SELECT started_at FROM attempts WHERE host = ? ORDER BY started_at DESC LIMIT 1'),
      pruneEvents: db.prepare(
        'DELETE FROM events WHERE host = ? AND id < (SELECT id FROM events WHERE host = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
      ),
      pruneAttempts: db.prepare(
        'DELETE FROM attempts WHERE host = ? AND id < (SELECT id FROM attempts WHERE host = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
      ),
    };
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
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    const results: unknown[] = [];
    try {
      this.#db.transaction(() => {
        for (const w of batch) results.push(w.run());
      })();
    } catch (error) {
      // One bad write must not fail the others: retry them one by one.
      for (const w of batch) {
        try {
          w.resolve(this.#db.transaction(w.run)());
        } catch (e) {
          w.reject(e);
        }
      }
      void error;
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i]));
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

  getHost(id: string): Promise<HostRecord | null> {
    const row = this.#stmt.one.get(id);
    return Promise.resolve(row === undefined ? null : hostRecordFromRow(row));
  }

  enroll(id: string, credentialHash: string, at: string): Promise<void> {
    return this.write(() => void this.#stmt.enroll.run(id, credentialHash, at));
  }

  resetCredential(id: string): Promise<void> {
    return this.write(() => void this.#stmt.reset.run(id));
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
    const since = this.#newestAttempt.get(host) ?? this.#stmt.newestAttempt.get(host)?.started_at ?? '';
    let newest = since;
    let inserted = 0;
    const fresh = attempts.filter((a) => a.startedAt > since).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    for (const a of fresh) {
      inserted += this.#stmt.attempt.run(host, a.startedAt, a.trigger, JSON.stringify(a)).changes;
      newest = a.startedAt;
    }
    this.#newestAttempt.set(host, newest);
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
    this.flush();
    this.#closed = true;
    this.#db.close();
    return Promise.resolve();
  }
}
