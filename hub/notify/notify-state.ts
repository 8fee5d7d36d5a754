// What notifications remember beyond one process (docs/notifications.md,
// "Restarts and failover"): open problem groups and the hosts they named, the
// last commit status posted per revision, the last head announced per rule.
// Kept in the store (table notify_state), so a restarted hub or the replica
// that becomes leader picks up where the previous sender stopped instead of
// announcing every still-failing host again. Writes are debounced: a key
// marked dirty is read from its owner (a snapshot) at the next flush, so a
// burst of changes to one group is one row written.
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { FleetStore } from '../store/fleet-store.ts';

/** How long a change waits to be written with the others: the window a crash can lose. */
export const NOTIFY_STATE_FLUSH_MS = 500;

export class NotifyState {
  readonly #store: FleetStore;
  readonly #log: Logger;
  readonly #dirty = new Map<string, () => string | null>();
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();

  constructor(store: FleetStore, logger: Logger) {
    this.#store = store;
    this.#log = logger;
  }

  /** Every saved key and its body. */
  async load(): Promise<Map<string, string>> {
    return new Map((await this.#store.notifyState()).map((e) => [e.key, e.body]));
  }

  /** `read` gives the key's body at flush time (null deletes it). */
  mark(key: string, read: () => string | null): void {
    this.#dirty.set(key, read);
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, NOTIFY_STATE_FLUSH_MS);
    this.#timer.unref();
  }

  /**
   * Forgets what is not written yet: a sender that lost the leadership must not
   * write after the new leader has started from the stored state (it would put
   * back an older picture). At most NOTIFY_STATE_FLUSH_MS of changes are lost,
   * as in a crash.
   */
  discard(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#dirty.clear();
  }

  /**
   * Writes what is dirty now (in one transaction); errors are logged and the
   * keys retried with the next change. The bodies are read at the call, so a
   * sender may flush and then tear down what they were read from.
   */
  flush(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = [...this.#dirty].map(([key, read]) => ({ key, body: read() }));
    this.#dirty.clear();
    if (batch.length === 0) return this.#flushing;
    this.#flushing = this.#flushing.then(async () => {
      try {
        await this.#store.saveNotifyState(batch);
      } catch (error) {
        for (const { key, body } of batch) if (!this.#dirty.has(key)) this.#dirty.set(key, () => body);
        this.#log.warn({ err: { message: messageOf(error) }, keys: batch.length }, 'could not save the notification state; a restart or failover may repeat a message');
      }
    });
    return this.#flushing;
  }
}
