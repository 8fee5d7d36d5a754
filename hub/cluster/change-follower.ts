// Keeps this replica's fleet index coherent with every other replica's
// writes, through PostgreSQL itself (docs/hub.md, Several replicas): a
// dedicated connection LISTENs for the compact change notices the store sends
// in the same transaction as each write (host ids, never host data), and the
// follower reads those hosts' index rows back, a few thousand per query. A
// notice lost while the connection was down is not a lasting divergence: after
// every reconnect the follower re-reads each host changed since the last time
// it knew itself connected (a ping on the same connection), with a margin for
// transactions that committed late, and every id, to see deletions. No read
// takes a host back in the past: reads are applied one at a time, in the
// order they were taken, and a row read while this replica was writing that
// host itself is read again instead (its index took the write once stored,
// perhaps after the read's snapshot; it never reads its own notices back).
import type { Logger } from 'pino';
import type pg from 'pg';
import type { FleetIndex, IndexRecord } from '../fleet/fleet-index.ts';
import type { PostgresFleetStore } from '../store/postgres-store.ts';
import { CHANGE_CHANNEL } from '../store/postgres-batch.ts';
import { ACTION_CHANNEL, parseAction, parseChangeNotice } from './notices.ts';
import type { ClusterAction } from './notices.ts';

export interface ChangeFollowerOptions {
  store: PostgresFleetStore;
  index: FleetIndex;
  logger: Logger;
  onAction: (action: ClusterAction) => void;
  /** Ping on the LISTEN connection (default 2 s): how stale a dead connection can get before it is replaced. */
  pingMs?: number;
  /** Re-read margin after a reconnect (default 10 s): longer than any write transaction. */
  marginMs?: number;
}

/** Ids read back per query. */
const READ_CHUNK = 5000;
/** How soon a host this replica was writing during a read is read again. */
const READ_AGAIN_MS = 250;

export class ChangeFollower {
  readonly #o: ChangeFollowerOptions;
  readonly #log: Logger;
  readonly #pending = new Set<string>();
  #client: pg.Client | null = null;
  /** Database time up to which every change is known to have reached this replica's notices or reads. */
  #watermark: Date | null = null;
  #ping: NodeJS.Timeout | null = null;
  #retry: NodeJS.Timeout | null = null;
  #drainTimer: NodeJS.Timeout | null = null;
  /** Hosts to read again (readLater). */
  readonly #later = new Set<string>();
  #laterTimer: NodeJS.Timeout | null = null;
  #draining: Promise<void> | null = null;
  #stopped = false;
  #connectedOnce = false;
  /** The reconnect (counted in `reconnects`) the last catch-up read started after: below it, a gap is not covered yet. */
  #caughtUpTo = 0;
  /** Notices received and hosts read back (for tests and metrics). */
  noticesReceived = 0;
  reconnects = 0;

  constructor(o: ChangeFollowerOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'change-follower' });
  }

  /** LISTENs, then loads every host: nothing written between the two is missed. */
  async start(): Promise<void> {
    await this.connect();
    // The reads of the hosts noticed meanwhile wait for this one: an older read never lands after a newer one.
    const load = this.#o.store.allIndexRecords().then(({ records, at }) => {
      for (const r of records) this.#o.index.applyRecord(r);
      this.#watermark = at;
      this.#log.info({ hosts: records.length, replica: this.#o.store.replicaId }, 'following the other replicas through PostgreSQL');
    });
    this.#draining = load.catch(() => undefined).finally(() => {
      this.#draining = null;
      this.scheduleDrain(0);
    });
    await load;
  }

  /** Reads these hosts back (a change this replica made without its own index knowing, e.g. the leader's sweep). */
  refresh(ids: Iterable<string>): void {
    for (const id of ids) this.#pending.add(id);
    this.scheduleDrain(0);
  }

  private async connect(): Promise<void> {
    const client = await this.#o.store.dedicatedClient('follow');
    client.on('notification', (n) => this.onNotification(n));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
      await client.query(`LISTEN ${ACTION_CHANNEL}`);
    } catch (error) {
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#stopped) {
      // Stopped while connecting: nothing would ever close this connection, and it would keep the hub from exiting.
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    if (this.#connectedOnce) {
      this.reconnects++;
      this.scheduleDrain(0);
    }
    this.#connectedOnce = true;
    const pingMs = this.#o.pingMs ?? 2000;
    // One ping at a time: a database answering late must not get a second query stacked on this connection.
    let pinging = false;
    this.#ping = setInterval(() => {
      if (pinging) return;
      pinging = true;
      client.query<{ now: Date }>('SELECT clock_timestamp() AS now').then(
        (r) => {
          // Connected at this time: every notice committed before it has been delivered on this connection.
          // Not while a catch-up is due: the gap before this connection is not covered yet.
          if (this.#client === client && this.#watermark !== null && !this.#catchUpDue) this.#watermark = r.rows[0]!.now;
        },
        (error: unknown) => this.lost(client, error as Error),
      ).finally(() => (pinging = false));
    }, pingMs);
    this.#ping.unref();
  }

  /** A reconnect's gap is not covered yet by a catch-up read started after it. */
  get #catchUpDue(): boolean {
    return this.#caughtUpTo < this.reconnects;
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.#client !== client) return;
    this.#client = null;
    if (this.#ping) clearInterval(this.#ping);
    this.#ping = null;
    client.removeAllListeners('notification');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.#stopped) return;
    this.#log.warn({ err: { message: error.message } }, 'lost the change feed connection; reconnecting, then re-reading what changed meanwhile');
    this.scheduleReconnect(500);
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.#stopped || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.connect().catch((error: unknown) => {
        this.#log.warn({ err: { message: (error as Error).message } }, 'cannot reconnect the change feed yet');
        this.scheduleReconnect(Math.min(delayMs * 2, 5000));
      });
    }, delayMs);
    this.#retry.unref();
  }

  private async catchUp(): Promise<void> {
    const since = this.#watermark;
    if (since === null) return;
    const stop = this.#o.store.watchLocalWrites();
    const { records, ids, at } = await this.#o.store.changedSince(since, this.#o.marginMs ?? 10_000).catch((error: unknown) => {
      stop();
      throw error;
    });
    const wrote = stop();
    const present = new Set(ids);
    const gone = this.#o.index.knownReported().filter((id) => !present.has(id));
    const later = this.applyRead(records, gone, wrote);
    this.#watermark = at;
    this.#log.info({ changed: records.length, removed: gone.length, readAgain: later }, 'change feed reconnected; caught up');
  }

  /**
   * A read's rows applied and its missing hosts removed, except those this replica wrote while it
   * ran (`wrote`): those are read again (readLater). Returns how many were.
   */
  private applyRead(records: readonly IndexRecord[], missing: readonly string[], wrote: (host: string) => boolean): number {
    const again = [...records.map((r) => r.id), ...missing].filter(wrote);
    for (const r of records) if (!wrote(r.id)) this.#o.index.applyRecord(r);
    for (const id of missing) if (!wrote(id)) this.#o.index.remove(id);
    for (const id of again) this.readLater(id);
    return again.length;
  }

  /**
   * A host this replica wrote while its row was being read: the row may be
   * older than the index (which took the write once stored, maybe after the
   * read's snapshot), so it is not applied; the host is read again shortly,
   * for what another replica may have changed.
   */
  private readLater(id: string): void {
    this.#later.add(id);
    if (this.#laterTimer || this.#stopped) return;
    this.#laterTimer = setTimeout(() => {
      this.#laterTimer = null;
      this.refresh(this.#later);
      this.#later.clear();
    }, READ_AGAIN_MS);
    this.#laterTimer.unref();
  }

  private onNotification(n: pg.Notification): void {
    if (n.channel === ACTION_CHANNEL) {
      const action = parseAction(n.payload ?? '');
      if (action) this.#o.onAction(action);
      return;
    }
    if (n.channel !== CHANGE_CHANNEL) return;
    const notice = parseChangeNotice(n.payload ?? '');
    if (!notice) return;
    this.noticesReceived++;
    // This replica's own writes are in its index already.
    if (notice.replica === this.#o.store.replicaId) return;
    for (const id of notice.hosts) this.#pending.add(id);
    this.scheduleDrain(10);
  }

  private scheduleDrain(delayMs: number): void {
    if (this.#drainTimer || this.#draining || this.#stopped) return;
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = null;
      this.#draining = this.drain().finally(() => {
        this.#draining = null;
        if ((this.#pending.size > 0 || this.#catchUpDue) && !this.#stopped) this.scheduleDrain(10);
      });
    }, delayMs);
    this.#drainTimer.unref();
  }

  /**
   * Every read of index rows after the first load, one at a time (an older
   * read applied after a newer one would put a host back in the past): the
   * catch-up after a reconnect, retried every second until it succeeds (the
   * database may still be coming back), then the hosts noticed.
   */
  private async drain(): Promise<void> {
    while (this.#catchUpDue && !this.#stopped) {
      const upTo = this.reconnects;
      try {
        await this.catchUp();
        this.#caughtUpTo = upTo;
      } catch (error) {
        this.#log.warn({ err: { message: (error as Error).message } }, 'cannot catch up yet; retrying');
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
    while (this.#pending.size > 0 && !this.#stopped) {
      const ids = [...this.#pending].slice(0, READ_CHUNK);
      for (const id of ids) this.#pending.delete(id);
      const stop = this.#o.store.watchLocalWrites();
      try {
        const records = await this.#o.store.indexRecords(ids);
        const found = new Set(records.map((r) => r.id));
        this.applyRead(records, ids.filter((id) => !found.has(id)), stop());
      } catch (error) {
        stop();
        // The database is away: keep the ids and try again shortly.
        for (const id of ids) this.#pending.add(id);
        this.#log.warn({ err: { message: (error as Error).message } }, 'cannot read changed hosts back; retrying');
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#ping) clearInterval(this.#ping);
    if (this.#drainTimer) clearTimeout(this.#drainTimer);
    if (this.#laterTimer) clearTimeout(this.#laterTimer);
    await this.#draining?.catch(() => undefined);
    const client = this.#client;
    this.#client = null;
    if (client) {
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
