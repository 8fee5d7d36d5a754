// Batched writes for the PostgreSQL store: the hub's writes (statuses,
// events, hellos, last-seen times, session claims) are queued and written per
// tick in one transaction of a few multi-row statements, so a replica's
// ingest costs a handful of round trips per tick instead of one per report
// (docs/hub.md, PostgreSQL). The seq guarantees are those of the single
// statements: a host has at most one write in a batch and none in two batches
// at once, so its writes keep their order, and every seq write is still
// conditional on the stored seq (a stale or resent seq changes nothing).
// The same transaction sends the change notices other replicas follow.
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
/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
const MAX_NOTICE_BYTES = 7000;
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

/** Splits host ids into notice payloads under PostgreSQL's size limit. */
export function noticePayloads(replica: string, ids: Iterable<string>): string[] {
  const out: string[] = [];
  let chunk: string[] = [];
  let size = 0;
  for (const id of ids) {
    const n = Buffer.byteLength(JSON.stringify(id)) + 1;
    if (size + n > MAX_NOTICE_BYTES && chunk.length > 0) {
      out.push(JSON.stringify({ r: replica, h: chunk }));
      chunk = [];
      size = 0;
    }
    chunk.push(id);
    size += n;
  }
  if (chunk.length > 0) out.push(JSON.stringify({ r: replica, h: chunk }));
  return out;
}

export interface BatchResult {
  /** Rows inserted into events/attempts per host (for pruning). */
  inserted: Map<string, number>;
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

  private async run(batch: Queued[], notices: string[]): Promise<void> {
    try {
      const results = await this.writeWithRetry(batch.map((q) => q.op), notices);
      batch.forEach((q, i) => q.resolve(results[i]!));
    } catch (error) {
      if (batch.length <= 1) {
        batch.forEach((q) => q.reject(error));
        return;
      }
      // One write the database refuses must not fail the others: each goes again on its own.
      this.fallbacks++;
      this.#onBatchError(error, batch.length);
      await Promise.all(
        batch.map(async (q) => {
          try {
            q.resolve((await this.writeWithRetry([q.op], []))[0]!);
          } catch (e) {
            q.reject(e);
          }
        }),
      );
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
      await this.begin(client);
      const { results, changed, inserted, newest } = await this.statements(client, ops);
      for (const id of notices) changed.add(id);
      const payloads = noticePayloads(this.#replica, changed);
      if (payloads.length > 0) await client.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [CHANGE_CHANNEL, payloads]);
      await client.query('COMMIT');
      for (const op of ops) if (op.kind === 'session') this.#newestStored.delete(op.host);
      if (this.#newestStored.size + newest.size > MAX_REMEMBERED_ATTEMPTS) this.#newestStored.clear();
      for (const [host, key] of newest) this.#newestStored.set(host, key);
      this.batches++;
      this.writes += ops.length;
      if (inserted.size > 0) this.#onInserted(inserted);
      return results;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Status snapshots are about 2 KB of JSON, compressed on every write: lz4 costs a fraction of
   * PostgreSQL's default pglz (the batch's UPDATE about a third less). A server built without lz4
   * refuses the setting once; its batches then begin plainly.
   */
  private async begin(client: PoolClient): Promise<void> {
    if (this.#lz4 !== false) {
      try {
        await client.query("BEGIN; SET LOCAL default_toast_compression = 'lz4'");
        this.#lz4 = true;
        return;
      } catch (error) {
        // 22023: invalid_parameter_value, the server has no lz4; anything else is the batch's failure.
        if (this.#lz4 === true || (error as { code?: unknown }).code !== '22023') throw error;
        this.#lz4 = false;
        await client.query('ROLLBACK');
      }
    }
    await client.query('BEGIN');
  }

  private async statements(
    client: PoolClient,
    ops: WriteOp[],
  ): Promise<{ results: boolean[]; changed: Set<string>; inserted: Map<string, number>; newest: Map<string, string> }> {
    const results = ops.map(() => true);
    const changed = new Set<string>();
    const inserted = new Map<string, number>();
    const newest = new Map<string, string>();
    const count = (host: string, n: number) => inserted.set(host, (inserted.get(host) ?? 0) + n);
    const of = <K extends WriteOp['kind']>(kind: K) => ops.flatMap((op, i) => (op.kind === kind ? [{ op: op as Extract<WriteOp, { kind: K }>, i }] : []));

    const hellos = of('hello');
    if (hellos.length > 0) {
      const h = hellos.map((x) => x.op);
      await client.query(
        `UPDATE hosts h SET place = v.place, tags = v.tags, agent_version = v.av, facts = v.facts, last_seen_at = v.seen,
           dropped_events = GREATEST(h.dropped_events, v.dropped), changed_at = clock_timestamp()
         FROM json_to_recordset($1::json) AS v(id text, place text, tags text, av text, facts text, seen text, dropped bigint)
         WHERE h.id = v.id`,
        [
          recordset({
            id: h.map((o) => o.host),
            place: h.map((o) => pgText(o.hello.place)),
            tags: h.map((o) => JSON.stringify(o.hello.tags)),
            av: h.map((o) => pgText(o.hello.agentVersion)),
            facts: h.map((o) => JSON.stringify(o.hello.facts)),
            seen: h.map((o) => o.hello.seenAt),
            dropped: h.map((o) => o.hello.droppedEvents),
          }),
        ],
      );
      for (const o of h) changed.add(o.host);
    }

    const touches = of('touch');
    if (touches.length > 0) {
      await client.query(
        `UPDATE hosts h SET last_seen_at = v.seen, changed_at = clock_timestamp() FROM json_to_recordset($1::json) AS v(id text, seen text) WHERE h.id = v.id`,
        [recordset({ id: touches.map((x) => x.op.host), seen: touches.map((x) => x.op.seenAt) })],
      );
      for (const x of touches) changed.add(x.op.host);
    }

    const sessions = of('session');
    const claims = sessions.filter((x) => x.op.replica !== null);
    const releases = sessions.filter((x) => x.op.replica === null);
    if (claims.length > 0) {
      await client.query(
        `UPDATE hosts h SET session_replica = v.r, changed_at = clock_timestamp() FROM json_to_recordset($1::json) AS v(id text, r text) WHERE h.id = v.id`,
        [recordset({ id: claims.map((x) => x.op.host), r: claims.map((x) => x.op.replica) })],
      );
      for (const x of claims) changed.add(x.op.host);
    }
    if (releases.length > 0) {
      // Only while this replica holds it: the agent may already be on another replica.
      const r = await client.query<{ id: string }>(
        `UPDATE hosts h SET session_replica = NULL, changed_at = clock_timestamp() FROM json_to_recordset($1::json) AS v(id text, r text)
         WHERE h.id = v.id AND h.session_replica = v.r RETURNING h.id`,
        [recordset({ id: releases.map((x) => x.op.host), r: releases.map((x) => x.op.by) })],
      );
      for (const row of r.rows) changed.add(row.id);
    }

    const statuses = of('status');
    if (statuses.length > 0) await this.statuses(client, statuses, results, changed, count, newest);

    const events = of('event');
    const agentEvents = events.filter((x) => x.op.event.seq !== undefined);
    const hubEvents = events.filter((x) => x.op.event.seq === undefined);
    const eventColumns = (list: typeof events) => [
      recordset({
        host: list.map((x) => x.op.host),
        seq: list.map((x) => x.op.event.seq ?? null),
        time: list.map((x) => pgText(x.op.event.time)),
        level: list.map((x) => pgText(x.op.event.level)),
        resource: list.map((x) => (x.op.event.resource === undefined ? null : pgText(x.op.event.resource))),
        reason: list.map((x) => pgText(x.op.event.reason)),
        message: list.map((x) => pgText(x.op.event.message)),
      }),
    ];
    const EVENT_ROWS = 'json_to_recordset($1::json) AS v(host text, seq bigint, time text, level text, resource text, reason text, message text, n int)';
    if (agentEvents.length > 0) {
      const r = await client.query<{ host: string }>(
        `WITH v AS (
           SELECT * FROM ${EVENT_ROWS}
         ), bumped AS (
           UPDATE hosts h SET last_seq = v.seq FROM v WHERE h.id = v.host AND h.last_seq < v.seq RETURNING h.id
         )
         INSERT INTO events (host, seq, time, level, resource, reason, message)
         SELECT v.host, v.seq, v.time, v.level, v.resource, v.reason, v.message FROM v JOIN bumped ON bumped.id = v.host ORDER BY v.n
         RETURNING host`,
        eventColumns(agentEvents),
      );
      const stored = new Set(r.rows.map((row) => row.host));
      for (const x of agentEvents) {
        results[x.i] = stored.has(x.op.host);
        if (results[x.i]) count(x.op.host, 1);
      }
    }
    if (hubEvents.length > 0) {
      await client.query(
        `INSERT INTO events (host, seq, time, level, resource, reason, message)
         SELECT host, seq, time, level, resource, reason, message
           FROM ${EVENT_ROWS}
          ORDER BY n`,
        eventColumns(hubEvents),
      );
      for (const x of hubEvents) count(x.op.host, 1);
    }
    return { results, changed, inserted, newest };
  }

  /**
   * Snapshots replace the stored ones above the stored seq; of their attempts,
   * only those the store does not hold yet are inserted (unseenAttempts), for
   * the hosts whose snapshot was applied. Which are stored is asked of the
   * database only for hosts whose window does not hold the newest attempt this
   * process remembers storing (a first report here, a gap).
   */
  private async statuses(
    client: PoolClient,
    statuses: Array<{ op: Extract<WriteOp, { kind: 'status' }>; i: number }>,
    results: boolean[],
    changed: Set<string>,
    count: (host: string, n: number) => void,
    newestStored: Map<string, string>,
  ): Promise<void> {
    const keyHosts: string[] = [];
    const keyStarts: string[] = [];
    const stored = new Set<string>();
    for (const { op } of statuses) {
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
    const needNewest = statuses.filter(({ op }) => op.status.attempts.length > 0 && !op.status.attempts.some(isStored(op.host))).map(({ op }) => op.host);
    const newest = new Map<string, string>();
    if (needNewest.length > 0) {
      const r = await client.query<{ host: string; newest: string }>('SELECT host, MAX(started_at) AS newest FROM attempts WHERE host = ANY($1::text[]) GROUP BY host', [needNewest]);
      for (const row of r.rows) newest.set(row.host, row.newest);
    }
    const applied = await client.query<{ id: string }>(
      `UPDATE hosts h SET status = s.status, digest = v.digest, status_at = v.at, last_seq = v.seq, changed_at = clock_timestamp()
         FROM json_to_recordset($1::json) AS v(id text, seq bigint, digest text, at text, n int)
         JOIN unnest(string_to_array($2, E'\\n')) WITH ORDINALITY AS s(status, k) ON s.k = v.n + 1
        WHERE h.id = v.id AND h.last_seq < v.seq RETURNING h.id`,
      [
        recordset({
          id: statuses.map((x) => x.op.host),
          seq: statuses.map((x) => x.op.seq),
          digest: statuses.map((x) => JSON.stringify(digestStatus(x.op.status))),
          at: statuses.map((x) => pgText(x.op.status.updatedAt)),
        }),
        jsonLines(statuses.map((x) => x.op.status)),
      ],
    );
    const appliedIds = new Set(applied.rows.map((r) => r.id));
    const hosts: string[] = [];
    const starts: string[] = [];
    const triggers: string[] = [];
    const bodies: Attempt[] = [];
    for (const { op, i } of statuses) {
      results[i] = appliedIds.has(op.host);
      if (!results[i]) continue;
      changed.add(op.host);
      const unseen = unseenAttempts(op.status.attempts, isStored(op.host), newest.get(op.host) ?? null);
      const first = op.status.attempts[0];
      // The window's newest attempt is stored after this batch if it was already or is inserted now.
      if (first !== undefined && (isStored(op.host)(first) || unseen.includes(first))) newestStored.set(op.host, attemptKey(first));
      for (const a of unseen) {
        hosts.push(op.host);
        starts.push(pgText(a.startedAt));
        triggers.push(pgText(a.trigger));
        bodies.push(a);
      }
    }
    if (hosts.length > 0) {
      const r = await client.query<{ host: string }>(
        `INSERT INTO attempts (host, started_at, trigger, body)
         SELECT a.host, a.started_at, a.trigger, b.body FROM json_to_recordset($1::json) AS a(host text, started_at text, trigger text, n int)
           JOIN unnest(string_to_array($2, E'\\n')) WITH ORDINALITY AS b(body, k) ON b.k = a.n + 1
          ORDER BY a.n
         ON CONFLICT (host, started_at, trigger) DO NOTHING
         RETURNING host`,
        [recordset({ host: hosts, started_at: starts, trigger: triggers }), jsonLines(bodies)],
      );
      for (const row of r.rows) count(row.host, 1);
    }
  }
}
