// Batched writes for the PostgreSQL store: the hub's writes (statuses,
// events, hellos, last-seen times, session claims) are queued and written per
// tick as one multi-row statement (so one transaction and one round trip), so
// a replica's ingest costs one round trip per tick instead of one per report
// (docs/hub.md, PostgreSQL). The seq guarantees are those of the single
// statements: a host has at most one write in a batch and none in two batches
// at once, so its writes keep their order, and every seq write is still
// conditional on the stored seq (a stale or resent seq changes nothing).
// The same statement sends the change notices other replicas follow.
import type { Pool, PoolClient } from 'pg';
import type { Attempt, HostStatus } from '../../shared/status.ts';
import { digestStatus } from '../fleet/host-digest.ts';
import { unseenAttempts } from './fleet-store.ts';
import type { HelloRecord, StoredEvent } from './fleet-store.ts';

export type WriteOp =
  | { kind: 'status'; host: string; seq: number; status: HostStatus }
  | { kind: 'event'; host: string; event: StoredEvent }
  | { kind: 'hello'; host: string; hello: HelloRecord }
  | { kind: 'touch'; host: string; seenAt: string }
  /** replica: the one claiming the session; release: only while `by` holds it. */
  | { kind: 'session'; host: string; replica: string | null; by: string };

interface Queued {
  op: WriteOp;
  resolve(value: boolean): void;
  reject(error: unknown): void;
}

/** The channel replicas LISTEN on; a notice is a JSON {r: replica, h: [host ids]}. */
export const CHANGE_CHANNEL = 'gitfleet_changes';
const MAX_BATCH = 2000;
const MAX_CONCURRENT_BATCHES = 3;
/** Writes waiting before a batch starts beside one in flight; also the smallest share when a queue is spread. */
const MIN_PARALLEL_BATCH = 500;
/** Hosts whose newest stored attempt this process remembers (past this, it forgets them all and asks again). */
const MAX_REMEMBERED_ATTEMPTS = 250_000;
/** Deadlock and serialization failures: the batch is retried as a whole. */
const RETRY_CODES = new Set(['40P01', '40001']);

/** PostgreSQL text cannot hold NUL; agents' messages are free text. */
export function pgText(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
}

/**
 * A batch's rows as one JSON parameter for json_to_recordset, with `n` for
 * their order: one array per column would cost far more (pg encodes arrays in
 * JavaScript, PostgreSQL parses array literals slowly: about 0.4 s for 2,000
 * status snapshots, against 0.05 s as JSON).
 */
export function recordset(columns: Record<string, unknown[]>): string {
  const names = Object.keys(columns);
  const count = names.length === 0 ? 0 : columns[names[0]!]!.length;
  const rows: Array<Record<string, unknown>> = new Array(count);
  for (let i = 0; i < count; i++) {
    const row: Record<string, unknown> = { n: i };
    for (const name of names) row[name] = columns[name]![i];
    rows[i] = row;
  }
  return JSON.stringify(rows);
}

/**
 * Large JSON bodies (status snapshots, 2 KB and more) one per line, the
 * batch's second parameter: inside the recordset each would be escaped as a
 * JSON string and parsed again (a third of a batch's time in this process and
 * in the database). JSON.stringify without indentation never writes a raw
 * newline (one inside a string is escaped), so the texts are passed as they
 * are and split by the database.
 */
export function jsonLines(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join('\n');
}

/** An attempt's identity in the store (its unique key besides the host), as the database compares it. */
function attemptKey(a: Attempt): string {
  return `${pgText(a.startedAt)}\u0000${pgText(a.trigger)}`;
}

export class WriteBatcher {
  readonly #pool: Pool;
  readonly #replica: string;
  readonly #onInserted: (inserted: Map<string, number>) => void;
  #queue: Queued[] = [];
  readonly #notices = new Set<string>();
  /** Hosts with a write in a batch being written: their next writes wait for it. */
  readonly #busy = new Set<string>();
  #running = 0;
  #scheduled = false;
  readonly #idle = new Set<() => void>();
  /** Statistics for the benchmarks: batches written and rows in them. */
  batches = 0;
  writes = 0;

  readonly #onBatchError: (error: unknown, writes: number) => void;
  /** Batches that failed as a whole and were written one write at a time. */
  fallbacks = 0;
  /**
   * The newest attempt this process stored per host (startedAt NUL trigger): an agent re-sends its
   * last attempts with every snapshot, and finding this one in the window says which are new without
   * asking the database. Forgotten whenever the host changes hands or rows (a session claimed,
   * notice(): enrolled, reset, deleted, swept), so a stale entry costs at most a re-sent attempt.
   */
  readonly #newestStored = new Map<string, string>();
  /** Whether the server compresses values with lz4 (null: not tried yet). */
  #lz4: boolean | null = null;
  /** Pooled connections this batcher has set up (compression). */
  readonly #configured = new WeakSet<PoolClient>();

  constructor(pool: Pool, replica: string, onInserted: (inserted: Map<string, number>) => void, onBatchError: (error: unknown, writes: number) => void = () => {}) {
    this.#pool = pool;
    this.#replica = replica;
    this.#onInserted = onInserted;
    this.#onBatchError = onBatchError;
  }

  write(op: WriteOp): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      this.schedule();
    });
  }

  /** Other replicas learn of these hosts with the next batch (enrollments, deletions). */
  notice(id: string): void {
    this.#newestStored.delete(id);
    this.#notices.add(id);
    this.schedule();
  }

  /** Resolves once nothing is queued or being written. */
  drain(): Promise<void> {
    if (this.#queue.length === 0 && this.#running === 0 && this.#notices.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  private schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // One tick: whatever the sessions queued in this turn of the event loop goes together.
    setImmediate(() => {
      this.#scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.#running < MAX_CONCURRENT_BATCHES && (this.#queue.length > 0 || this.#notices.size > 0)) {
      // While a batch is being written the next one fills up; a second starts only when there is enough for it.
      if (this.#running > 0 && this.#queue.length < MIN_PARALLEL_BATCH) break;
      // A long queue is spread over the free connections: the database works on one batch while this process prepares the next.
      const share = Math.ceil(this.#queue.length / (MAX_CONCURRENT_BATCHES - this.#running));
      const batch = this.take(Math.min(MAX_BATCH, Math.max(MIN_PARALLEL_BATCH, share)));
      const notices = [...this.#notices];
      this.#notices.clear();
      if (batch.length === 0 && notices.length === 0) break;
      this.#running++;
      for (const q of batch) this.#busy.add(q.op.host);
      void this.run(batch, notices).finally(() => {
        for (const q of batch) this.#busy.delete(q.op.host);
        this.#running--;
        if (this.#queue.length > 0 || this.#notices.size > 0) this.pump();
        else if (this.#running === 0) {
          for (const done of this.#idle) done();
          this.#idle.clear();
        }
      });
    }
  }

  /** Up to `size` writes, one per host, none for a busy host; a host's later writes keep their place. */
  private take(size: number): Queued[] {
    const taken: Queued[] = [];
    const rest: Queued[] = [];
    const blocked = new Set<string>();
    for (const q of this.#queue) {
      const host = q.op.host;
      if (taken.length < size && !blocked.has(host) && !this.#busy.has(host)) {
        taken.push(q);
        blocked.add(host);
      } else {
        rest.push(q);
        blocked.add(host);
      }
    }
    this.#queue = rest;
    return taken;
  }

  private async run(batch: Queued[], notices: string[], halved = false): Promise<void> {
    try {
      const results = await this.writeWithRetry(batch.map((q) => q.op), notices);
      batch.forEach((q, i) => q.resolve(results[i]!));
    } catch (error) {
      if (batch.length <= 1) {
        batch.forEach((q) => q.reject(error));
        return;
      }
      if (!halved) {
        this.fallbacks++;
        this.#onBatchError(error, batch.length);
      }
      // One write the database refuses must not fail the others: the batch is halved and each half written again,
      // one after the other, down to the refused write. Never one write per connection at once: 2,000 single writes
      // on a pool of 10 waited past its connect timeout and failed writes the database had nothing against.
      const half = Math.ceil(batch.length / 2);
      await this.run(batch.slice(0, half), notices, true);
      await this.run(batch.slice(half), [], true);
    }
  }

  private async writeWithRetry(ops: WriteOp[], notices: string[]): Promise<boolean[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.writeBatch(ops, notices);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (attempt >= 3 || typeof code !== 'string' || !RETRY_CODES.has(code)) throw error;
      }
    }
  }

  private async writeBatch(ops: WriteOp[], notices: string[]): Promise<boolean[]> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await this.configure(client);
      const plan = await this.plan(client, ops, notices);
      // One statement, so one transaction and one round trip: under load every round trip waits for both processes to be scheduled again.
      const r = await client.query<{ k: string; id: string | null }>({ name: BATCH_STATEMENT, text: BATCH_SQL, values: plan.values });
      const applied = new Set<string>();
      const storedEvents = new Set<string>();
      const inserted = new Map<string, number>();
      const count = (host: string) => inserted.set(host, (inserted.get(host) ?? 0) + 1);
      for (const row of r.rows) {
        if (row.k === 's') applied.add(row.id!);
        else if (row.k === 'e') {
          storedEvents.add(row.id!);
          count(row.id!);
        } else if (row.k === 'a' || row.k === 'h') count(row.id!);
      }
      const results = ops.map((op) => (op.kind === 'status' ? applied.has(op.host) : op.kind === 'event' && op.event.seq !== undefined ? storedEvents.has(op.host) : true));
      for (const op of ops) if (op.kind === 'session') this.#newestStored.delete(op.host);
      const newest = new Map([...plan.newest].filter(([host]) => applied.has(host)));
      if (this.#newestStored.size + newest.size > MAX_REMEMBERED_ATTEMPTS) this.#newestStored.clear();
      for (const [host, key] of newest) this.#newestStored.set(host, key);
      this.batches++;
      this.writes += ops.length;
      if (inserted.size > 0) this.#onInserted(inserted);
      return results;
    } catch (error) {
      // A refusal by the server leaves the connection usable (the statement's transaction is gone); anything else may not.
      broken = typeof (error as { code?: unknown }).code !== 'string';
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Status snapshots are about 2 KB of JSON, compressed on every write: lz4 costs a fraction of
   * PostgreSQL's default pglz (the batch's UPDATE about a third less). Set once per connection
   * (a single-statement batch has no transaction to SET LOCAL in); a server built without lz4
   * refuses the setting once and keeps pglz.
   */
  private async configure(client: PoolClient): Promise<void> {
    if (this.#lz4 === false || this.#configured.has(client)) return;
    try {
      await client.query("SET default_toast_compression = 'lz4'");
      this.#lz4 = true;
    } catch (error) {
      // 22023: invalid_parameter_value, the server has no lz4.
      if ((error as { code?: unknown }).code !== '22023') throw error;
      this.#lz4 = false;
    }
    this.#configured.add(client);
  }

  /**
   * The batch statement's parameters. Which of a snapshot's attempts are new
   * is asked of the database (before the statement: reads see the same
   * committed rows either way, and the insert ignores a duplicate) only for
   * hosts whose window does not hold the newest attempt this process
   * remembers storing (a first report here, a gap).
   */
  private async plan(client: PoolClient, ops: WriteOp[], notices: string[]): Promise<{ values: unknown[]; newest: Map<string, string> }> {
    const of = <K extends WriteOp['kind']>(kind: K) => ops.filter((op): op is Extract<WriteOp, { kind: K }> => op.kind === kind);
    const hellos = of('hello');
    const touches = of('touch');
    const sessions = of('session');
    const claims = sessions.filter((o) => o.replica !== null);
    const releases = sessions.filter((o) => o.replica === null);
    const statuses = of('status');
    const events = of('event');
    const eventRows = (list: typeof events) =>
      recordset({
        host: list.map((o) => o.host),
        seq: list.map((o) => o.event.seq ?? null),
        time: list.map((o) => pgText(o.event.time)),
        level: list.map((o) => pgText(o.event.level)),
        resource: list.map((o) => (o.event.resource === undefined ? null : pgText(o.event.resource))),
        reason: list.map((o) => pgText(o.event.reason)),
        message: list.map((o) => pgText(o.event.message)),
      });
    const attempts = await this.newAttempts(client, statuses);
    return {
      newest: attempts.newest,
      values: [
        this.#replica,
        CHANGE_CHANNEL,
        recordset({
          id: hellos.map((o) => o.host),
          place: hellos.map((o) => pgText(o.hello.place)),
          tags: hellos.map((o) => JSON.stringify(o.hello.tags)),
          av: hellos.map((o) => pgText(o.hello.agentVersion)),
          facts: hellos.map((o) => JSON.stringify(o.hello.facts)),
          seen: hellos.map((o) => o.hello.seenAt),
          dropped: hellos.map((o) => o.hello.droppedEvents),
        }),
        recordset({ id: touches.map((o) => o.host), seen: touches.map((o) => o.seenAt) }),
        recordset({ id: claims.map((o) => o.host), r: claims.map((o) => o.replica) }),
        recordset({ id: releases.map((o) => o.host), r: releases.map((o) => o.by) }),
        recordset({
          id: statuses.map((o) => o.host),
          seq: statuses.map((o) => o.seq),
          digest: statuses.map((o) => JSON.stringify(digestStatus(o.status))),
          at: statuses.map((o) => pgText(o.status.updatedAt)),
        }),
        jsonLines(statuses.map((o) => o.status)),
        recordset({ host: attempts.hosts, started_at: attempts.starts, trigger: attempts.triggers }),
        jsonLines(attempts.bodies),
        eventRows(events.filter((o) => o.event.seq !== undefined)),
        eventRows(events.filter((o) => o.event.seq === undefined)),
        JSON.stringify(notices),
      ],
    };
  }

  /** Per snapshot, the attempts the store does not hold yet (unseenAttempts), and the window's newest attempt, stored once the snapshot is. */
  private async newAttempts(
    client: PoolClient,
    statuses: Array<Extract<WriteOp, { kind: 'status' }>>,
  ): Promise<{ hosts: string[]; starts: string[]; triggers: string[]; bodies: Attempt[]; newest: Map<string, string> }> {
    const keyHosts: string[] = [];
    const keyStarts: string[] = [];
    const stored = new Set<string>();
    for (const op of statuses) {
      const remembered = this.#newestStored.get(op.host);
      const known = remembered === undefined ? -1 : op.status.attempts.findIndex((a) => attemptKey(a) === remembered);
      if (known >= 0) {
        // Everything older than the remembered attempt was stored before it; only the newer ones can be new.
        for (const a of op.status.attempts.slice(known)) stored.add(`${op.host}\u0000${attemptKey(a)}`);
        continue;
      }
      for (const a of op.status.attempts) {
        keyHosts.push(op.host);
        keyStarts.push(pgText(a.startedAt));
      }
    }
    if (keyHosts.length > 0) {
      const known = await client.query<{ host: string; started_at: string; trigger: string }>(
        `SELECT a.host, a.started_at, a.trigger FROM json_to_recordset($1::json) AS k(host text, started_at text)
           JOIN attempts a ON a.host = k.host AND a.started_at = k.started_at`,
        [recordset({ host: keyHosts, started_at: keyStarts })],
      );
      for (const row of known.rows) stored.add(`${row.host}\u0000${row.started_at}\u0000${row.trigger}`);
    }
    const isStored = (host: string) => (a: Attempt) => stored.has(`${host}\u0000${attemptKey(a)}`);
    // The newest stored attempt matters only for a host none of whose window is stored (rare: a first report, a long gap).
    const needNewest = statuses.filter((op) => op.status.attempts.length > 0 && !op.status.attempts.some(isStored(op.host))).map((op) => op.host);
    const newestStored = new Map<string, string>();
    if (needNewest.length > 0) {
      const r = await client.query<{ host: string; newest: string }>('SELECT host, MAX(started_at) AS newest FROM attempts WHERE host = ANY($1::text[]) GROUP BY host', [needNewest]);
      for (const row of r.rows) newestStored.set(row.host, row.newest);
    }
    const out = { hosts: [] as string[], starts: [] as string[], triggers: [] as string[], bodies: [] as Attempt[], newest: new Map<string, string>() };
    for (const op of statuses) {
      const unseen = unseenAttempts(op.status.attempts, isStored(op.host), newestStored.get(op.host) ?? null);
      const first = op.status.attempts[0];
      // The window's newest attempt is stored after this batch if it was already or is inserted now (with the snapshot).
      if (first !== undefined && (isStored(op.host)(first) || unseen.includes(first))) out.newest.set(op.host, attemptKey(first));
      for (const a of unseen) {
        out.hosts.push(op.host);
        out.starts.push(pgText(a.startedAt));
        out.triggers.push(pgText(a.trigger));
        out.bodies.push(a);
      }
    }
    return out;
  }
}

/** Prepared once per connection (its plan too). */
const BATCH_STATEMENT = 'gitfleet-write-batch-1';
const EVENT_ROWS = 'AS v(host text, seq bigint, time text, level text, resource text, reason text, message text, n int)';

/**
 * A batch as one statement: data-modifying CTEs all run, in one transaction.
 * A host has at most one write in a batch, so no two of them touch the same
 * hosts row. Each seq write stays conditional on the stored seq; attempts are
 * inserted only with a snapshot that was applied, agent events only above the
 * stored seq (ordered by `n`, the queue order). The change notices (host ids
 * in payloads of about 6 KB, under PostgreSQL's 8000-byte limit) go with the
 * commit. Rows returned: k = s (snapshot applied), e (agent event stored),
 * h (hub event stored), a (attempt inserted), n (a notice sent).
 *   $1 replica, $2 channel, $3 hellos, $4 touches, $5 claims, $6 releases,
 *   $7 snapshots' rows, $8 their bodies (one per line), $9 attempts' rows,
 *   $10 their bodies, $11 agent events, $12 hub events, $13 hosts to notice.
 */
const BATCH_SQL = `
WITH hello AS (
  UPDATE hosts h SET place = v.place, tags = v.tags, agent_version = v.av, facts = v.facts, last_seen_at = v.seen,
         dropped_events = GREATEST(h.dropped_events, v.dropped), changed_at = clock_timestamp()
    FROM json_to_recordset($3::json) AS v(id text, place text, tags text, av text, facts text, seen text, dropped bigint)
   WHERE h.id = v.id RETURNING h.id
), touched AS (
  UPDATE hosts h SET last_seen_at = v.seen, changed_at = clock_timestamp()
    FROM json_to_recordset($4::json) AS v(id text, seen text) WHERE h.id = v.id RETURNING h.id
), claimed AS (
  UPDATE hosts h SET session_replica = v.r, changed_at = clock_timestamp()
    FROM json_to_recordset($5::json) AS v(id text, r text) WHERE h.id = v.id RETURNING h.id
), released AS (
  -- Only while this replica holds it: the agent may already be on another replica.
  UPDATE hosts h SET session_replica = NULL, changed_at = clock_timestamp()
    FROM json_to_recordset($6::json) AS v(id text, r text) WHERE h.id = v.id AND h.session_replica = v.r RETURNING h.id
), applied AS (
  UPDATE hosts h SET status = s.status, digest = v.digest, status_at = v.at, last_seq = v.seq, changed_at = clock_timestamp()
    FROM json_to_recordset($7::json) AS v(id text, seq bigint, digest text, at text, n int)
    JOIN unnest(string_to_array($8, E'\\n')) WITH ORDINALITY AS s(status, k) ON s.k = v.n + 1
   WHERE h.id = v.id AND h.last_seq < v.seq RETURNING h.id
), new_attempts AS (
  INSERT INTO attempts (host, started_at, trigger, body)
  SELECT a.host, a.started_at, a.trigger, b.body
    FROM json_to_recordset($9::json) AS a(host text, started_at text, trigger text, n int)
    JOIN unnest(string_to_array($10, E'\\n')) WITH ORDINALITY AS b(body, k) ON b.k = a.n + 1
    JOIN applied ON applied.id = a.host
   ORDER BY a.n
  ON CONFLICT (host, started_at, trigger) DO NOTHING
  RETURNING host
), agent_event_rows AS (
  SELECT * FROM json_to_recordset($11::json) ${EVENT_ROWS}
), bumped AS (
  UPDATE hosts h SET last_seq = v.seq FROM agent_event_rows v WHERE h.id = v.host AND h.last_seq < v.seq RETURNING h.id
), agent_events AS (
  INSERT INTO events (host, seq, time, level, resource, reason, message)
  SELECT v.host, v.seq, v.time, v.level, v.resource, v.reason, v.message FROM agent_event_rows v JOIN bumped ON bumped.id = v.host ORDER BY v.n
  RETURNING host
), hub_events AS (
  INSERT INTO events (host, seq, time, level, resource, reason, message)
  SELECT v.host, v.seq, v.time, v.level, v.resource, v.reason, v.message FROM json_to_recordset($12::json) ${EVENT_ROWS} ORDER BY v.n
  RETURNING host
), changed AS (
  SELECT id FROM hello UNION SELECT id FROM touched UNION SELECT id FROM claimed UNION SELECT id FROM released
  UNION SELECT id FROM applied UNION SELECT value FROM json_array_elements_text($13::json)
), notified AS (
  SELECT pg_notify($2, json_build_object('r', $1::text, 'h', json_agg(id ORDER BY id))::text)
    FROM (SELECT id, sum(octet_length(to_json(id)::text) + 2) OVER (ORDER BY id) / 6000 AS part FROM changed) c
   GROUP BY part
)
SELECT 's' AS k, id FROM applied
UNION ALL SELECT 'e', host FROM agent_events
UNION ALL SELECT 'h', host FROM hub_events
UNION ALL SELECT 'a', host FROM new_attempts
UNION ALL SELECT 'n', NULL FROM notified`;
