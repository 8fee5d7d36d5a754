// One replica at a time does the fleet-wide chores (polling the repo,
// sweeping dead replicas' sessions): the one holding a PostgreSQL session
// advisory lock on a connection of its own. The lock lives exactly as long as
// that connection: when the leader dies or loses the database, PostgreSQL
// releases it and the next replica to try (every `retryMs`) takes over.
import type { Logger } from 'pino';
import type pg from 'pg';
import { LEADER_LOCK } from '../store/postgres-migrations.ts';
import type { PostgresFleetStore } from '../store/postgres-store.ts';

export interface LeaderOptions {
  store: PostgresFleetStore;
  logger: Logger;
  onGain: () => void;
  onLose: () => void;
  /** How often a follower tries the lock and the leader checks its connection (default 2 s). */
  retryMs?: number;
}

export class LeaderLock {
  readonly #o: LeaderOptions;
  readonly #log: Logger;
  #client: pg.Client | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #busy = false;
  readonly #duties = new Set<{ start: () => void; stop: () => void }>();
  leader = false;

  constructor(o: LeaderOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'leader' });
  }

  /**
   * A chore only the leader does (notifications, history, rollouts…): `start`
   * runs on gaining the lock (at once if this replica leads already), `stop`
   * on losing it or on shutdown. Returns a function that unregisters it.
   */
  onLeadership(start: () => void, stop: () => void): () => void {
    const duty = { start, stop };
    this.#duties.add(duty);
    if (this.leader) start();
    return () => this.#duties.delete(duty);
  }

  private gained(): void {
    this.#o.onGain();
    for (const d of this.#duties) d.start();
  }

  private lost(): void {
    this.#o.onLose();
    for (const d of this.#duties) d.stop();
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#o.retryMs ?? 2000);
    this.#timer.unref();
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    try {
      if (this.leader) await this.#client!.query('SELECT 1');
      else await this.tryLock();
    } catch (error) {
      this.lose(error as Error);
    } finally {
      this.#busy = false;
    }
  }

  private async tryLock(): Promise<void> {
    this.#client ??= await this.openClient();
    const r = await this.#client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [...LEADER_LOCK]);
    if (this.#stopped) {
      // Stopped while this was under way: stop() may not have seen this connection. Left open it would hold the lock
      // (no other replica could lead) and keep the hub from exiting.
      const client = this.#client;
      this.#client = null;
      client?.on('error', () => undefined);
      await client?.end().catch(() => undefined);
      return;
    }
    if (!r.rows[0]?.locked) return;
    this.leader = true;
    this.#log.info({ replica: this.#o.store.replicaId }, 'this replica leads: it polls the repo and sweeps dead replicas');
    this.gained();
  }

  private async openClient(): Promise<pg.Client> {
    const client = await this.#o.store.dedicatedClient('leader');
    client.on('error', (error) => this.lose(error));
    return client;
  }

  private lose(error: Error): void {
    const client = this.#client;
    this.#client = null;
    if (client) {
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
    }
    if (!this.leader) return;
    this.leader = false;
    this.#log.warn({ err: { message: error.message } }, 'lost the leader lock with its database connection; another replica takes over');
    this.lost();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    const client = this.#client;
    this.#client = null;
    const was = this.leader;
    this.leader = false;
    if (was) this.lost();
    // Ending the connection releases the lock at once: the next replica need not wait for a timeout.
    if (client) {
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
