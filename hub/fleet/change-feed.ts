// Live updates for the web view: host changes are coalesced and published in
// batches (at most one batch per interval), so 5,000 status messages a second
// become a few small pushes, not 5,000.
export interface ChangeBatch<T> {
  hosts: T[];
  head?: string | undefined;
}

export type ChangeListener<T> = (batch: ChangeBatch<T>) => void;

export class ChangeFeed<T> {
  readonly #changed = new Set<string>();
  readonly #listeners = new Set<ChangeListener<T>>();
  readonly #resolve: (id: string) => T | null;
  readonly #intervalMs: number;
  #head: string | undefined;
  #timer: NodeJS.Timeout | null = null;

  constructor(resolve: (id: string) => T | null, intervalMs = 250) {
    this.#resolve = resolve;
    this.#intervalMs = intervalMs;
  }

  hostChanged(id: string): void {
    if (this.#listeners.size === 0) return;
    this.#changed.add(id);
    this.schedule();
  }

  headChanged(revision: string): void {
    if (this.#listeners.size === 0) return;
    this.#head = revision;
    this.schedule();
  }

  subscribe(listener: ChangeListener<T>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  private schedule(): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => this.publish(), this.#intervalMs);
    this.#timer.unref();
  }

  private publish(): void {
    this.#timer = null;
    const hosts = [...this.#changed].flatMap((id) => this.#resolve(id) ?? []);
    this.#changed.clear();
    const batch: ChangeBatch<T> = { hosts, ...(this.#head === undefined ? {} : { head: this.#head }) };
    this.#head = undefined;
    for (const l of this.#listeners) l(batch);
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#listeners.clear();
  }
}
