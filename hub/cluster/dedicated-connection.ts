// A replica's liveness work (its heartbeat, the leader's sweep of dead
// replicas' sessions, re-asserting its own sessions, the reconcile-now
// hand-offs) runs on one PostgreSQL connection of its own: on the pool it
// queued behind the batches of status writes and the change follower's reads,
// so under heavy ingest a live replica's beat came late and the leader swept
// its sessions (its hosts shown offline, then recorded again). Opened on
// first use, replaced after any failure; a statement that hangs (a network
// partition) is abandoned after `timeoutMs` with its connection.
import type pg from 'pg';
import type { PostgresFleetStore } from '../store/postgres-store.ts';

export class DedicatedConnection {
  readonly #store: PostgresFleetStore;
  readonly #role: 'liveness';
  readonly #timeoutMs: number;
  #client: Promise<pg.Client> | null = null;
  /** Statements run one after another: pg queues them anyway, this keeps the timeout per statement honest. */
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(store: PostgresFleetStore, role: 'liveness', timeoutMs: number) {
    this.#store = store;
    this.#role = role;
    this.#timeoutMs = timeoutMs;
  }

  /** Runs `work` on the connection; rejects (and drops the connection) when it fails or takes longer than the timeout. */
  use<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const run = this.#tail.then(
      () => this.run(work),
      () => this.run(work),
    );
    this.#tail = run.catch(() => undefined);
    return run;
  }

  private async run<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    if (this.#closed) throw new Error(`the ${this.#role} connection is closed`);
    const opening = (this.#client ??= this.open());
    let timer: NodeJS.Timeout | undefined;
    try {
      const client = await opening;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the ${this.#role} connection did not answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      });
      return await Promise.race([work(client), timeout]);
    } catch (error) {
      this.drop(opening);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async open(): Promise<pg.Client> {
    const client = await this.#store.dedicatedClient(this.#role);
    // An idle connection's error (the database restarted) must not crash the hub: the next use reconnects.
    client.on('error', () => this.drop(Promise.resolve(client)));
    return client;
  }

  private drop(opening: Promise<pg.Client>): void {
    if (this.#client !== opening) return;
    this.#client = null;
    opening.then(
      (client) => void client.end().catch(() => undefined),
      () => undefined,
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail;
    const opening = this.#client;
    this.#client = null;
    if (opening) await opening.then((client) => client.end()).catch(() => undefined);
  }
}
