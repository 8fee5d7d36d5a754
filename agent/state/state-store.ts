// The agent's persisted state in its state directory: the inventory (what it
// owns), its revisions (last good, last rejected) and its last status. Each is
// one JSON file written atomically, so a kill at any moment loses nothing.
//
// Damage never stops the agent (docs/agent.md, "State and recovery"):
// - status.json is a cache: unreadable → rebuilt by the next reconcile. It is
//   rewritten when the status is news (status-news.ts), and at least every
//   STATUS_REFRESH_MS, not after every idle pass.
// - inventory.json and revisions.json have a copy (`.bak`), written after each
//   successful save. Unreadable → the copy; the inventory also takes back every
//   container and unit the host marks as the agent's (host-marks.ts).
// - A save that fails (full disk) leaves the previous file intact, is logged
//   and reported, and is retried at the next save of any state file (every
//   reconcile saves the inventory); the agent keeps working from memory.
import { createHash } from 'node:crypto';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { messageOf } from '../../shared/errors.ts';
import { resourceKinds } from '../../shared/resources.ts';
import { HostStatus } from '../../shared/status.ts';
import { emptyInventory, type Inventory } from '../engine/model.ts';
import { readJsonFile, writeFileAtomic } from './atomic-file.ts';
import { STATUS_REFRESH_MS, statusNewsKey } from './status-news.ts';
import { inventoryFromHost, type HostMarks } from './host-marks.ts';
import { monotonicMs } from '../../shared/monotonic.ts';

export interface Revisions {
  /** The last revision applied and found healthy: what the host falls back to. */
  lastApplied: string | null;
  /** The last revision tried (applied, refused or rolled back). */
  lastAttempted: string | null;
  /** A head that was refused or failed, and when it is tried again (agent/loop/retry-policy.ts). */
  rejected: Rejected | null;
}

/** A failed head. The optional fields decide its retry (agent/loop/retry-policy.ts); files from older agents lack them. */
export interface Rejected {
  revision: string;
  /** Why, as a message. */
  reason: string;
  /** The condition reason (an error code, ApplyFailed or HealthCheckFailed). */
  code?: string;
  /** host: retried with backoff; commit: not until the head or the config changes. */
  cause?: 'host' | 'commit';
  configKey?: string;
  /** Host failures in a row for this revision. */
  failures?: number;
  /** Epoch ms of the next retry (host failures). */
  nextRetryAt?: number | null;
  since?: string;
}

const InventoryFile = z.object({
  version: z.literal(1),
  resources: z.record(
    z.string().regex(new RegExp(`^(${resourceKinds.join('|')})/.+$`)),
    z.object({
      kind: z.enum(resourceKinds),
      name: z.string(),
      hash: z.string(),
      revision: z.string(),
      appliedAt: z.string(),
      fields: z.object({ configHash: z.string(), values: z.record(z.string(), z.string()) }).optional(),
      // Taken over as found (docs/adopt.md): without it an adopted container would look replaced by hand.
      adopted: z.object({ at: z.string().optional(), containerId: z.string().optional(), configHash: z.string().optional() }).optional(),
    }),
  ),
});

const RevisionsFile = z.object({
  lastApplied: z.string().nullable(),
  lastAttempted: z.string().nullable(),
  rejected: z
    .object({
      revision: z.string(),
      reason: z.string(),
      code: z.string().optional(),
      cause: z.enum(['host', 'commit']).optional(),
      configKey: z.string().optional(),
      failures: z.number().int().nonnegative().optional(),
      nextRetryAt: z.number().nullable().optional(),
      since: z.string().optional(),
    })
    .nullable(),
});

export interface StateEvent {
  reason: 'StateRecovered' | 'StateWriteFailed';
  message: string;
  level: 'info' | 'warning' | 'error';
}

interface StateLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface StateStoreOptions {
  logger?: StateLogger;
  onEvent?: (event: StateEvent) => void;
  /** Where the inventory is rebuilt from when it and its copy are lost. */
  hostMarks?: HostMarks;
  now?: () => Date;
  /** A monotonic clock in ms (tests); performance.now by default. */
  monotonicMs?: () => number;
}

interface PendingWrite {
  data: string;
  mode: number;
  /** Also write `<name>.bak` once the file itself is written. */
  backup: boolean;
}

type Loaded<T> = { state: 'missing' } | { state: 'ok'; value: T } | { state: 'unreadable'; reason: string };

export class StateStore {
  readonly #options: StateStoreOptions;
  readonly #pending = new Map<string, PendingWrite>();
  #writing: Promise<void> = Promise.resolve();
  /** A digest of what each file was last written with by this store. */
  readonly #written = new Map<string, string>();
  /** The news key of the status last handed to a write, and when (monotonic ms). */
  #statusWritten: { key: string; at: number } | null = null;
  #failedSince: number | null = null;
  #failures = 0;

  constructor(
    readonly dir: string,
    options: StateStoreOptions = {},
  ) {
    this.#options = options;
  }

  private path(name: string): string {
    return join(this.dir, name);
  }

  /** Writes not done yet because the last attempt failed (file names). */
  get pendingWrites(): string[] {
    return [...this.#pending.keys()];
  }

  async #load<T>(name: string, schema: z.ZodType<T>): Promise<Loaded<T>> {
    const read = await readJsonFile(this.path(name));
    if (read.state !== 'ok') return read;
    const parsed = schema.safeParse(read.value);
    if (parsed.success) return { state: 'ok', value: parsed.data };
    return { state: 'unreadable', reason: `valid JSON but not a ${name} (${parsed.error.issues[0]?.message ?? 'schema'})` };
  }

  /** Keeps the damaged file for a post-mortem (one, the latest), out of the way of the next write. */
  async #setAside(name: string): Promise<void> {
    this.#written.delete(name);
    await rename(this.path(name), this.path(`${name}.corrupt`)).catch(() => undefined);
  }

  #recovered(message: string, details: object): void {
    this.#options.logger?.warn({ ...details }, message);
    this.#options.onEvent?.({ reason: 'StateRecovered', message, level: 'warning' });
  }

  async loadInventory(): Promise<Inventory> {
    const main = await this.#load('inventory.json', InventoryFile);
    if (main.state === 'ok') return main.value as Inventory;
    const copy = await this.#load('inventory.json.bak', InventoryFile);
    // No file and no copy: a fresh state directory, not a loss.
    if (main.state === 'missing' && copy.state === 'missing') return emptyInventory();
    const reason = main.state === 'missing' ? 'missing while its copy exists' : main.reason;
    if (main.state === 'unreadable') await this.#setAside('inventory.json');

    const inventory: Inventory = copy.state === 'ok' ? (copy.value as Inventory) : emptyInventory();
    const fromCopy = Object.keys(inventory.resources).length;
    const host = this.#options.hostMarks ? await inventoryFromHost(this.#options.hostMarks, (this.#options.now ?? (() => new Date()))().toISOString()) : { resources: {}, problems: [] };
    const added: string[] = [];
    for (const [id, entry] of Object.entries(host.resources)) {
      if (inventory.resources[id as keyof Inventory['resources']]) continue;
      inventory.resources[id as keyof Inventory['resources']] = entry;
      added.push(id);
    }
    const message =
      `inventory.json was unreadable (${reason}); recovered ${fromCopy + added.length} owned resource(s): ` +
      `${copy.state === 'ok' ? `${fromCopy} from inventory.json.bak` : `no copy (${copy.state === 'missing' ? 'none' : copy.reason})`}, ` +
      `${added.length} more marked on the host` +
      (host.problems.length ? `; could not read ${host.problems.join('; ')} (those stay unowned: never pruned, adopted again when declared)` : '');
    this.#recovered(message, { file: this.path('inventory.json'), fromCopy, fromHost: added, problems: host.problems });
    await this.saveInventory(inventory);
    return inventory;
  }

  saveInventory(inventory: Inventory): Promise<void> {
    return this.#save('inventory.json', JSON.stringify(inventory, null, 1), 0o600, true);
  }

  async loadRevisions(): Promise<Revisions> {
    const empty: Revisions = { lastApplied: null, lastAttempted: null, rejected: null };
    const main = await this.#load('revisions.json', RevisionsFile);
    if (main.state === 'ok') return main.value;
    const copy = await this.#load('revisions.json.bak', RevisionsFile);
    if (main.state === 'missing' && copy.state === 'missing') return empty;
    const reason = main.state === 'missing' ? 'missing while its copy exists' : main.reason;
    if (main.state === 'unreadable') await this.#setAside('revisions.json');
    const revisions = copy.state === 'ok' ? copy.value : empty;
    this.#recovered(
      copy.state === 'ok'
        ? `revisions.json was unreadable (${reason}); recovered from revisions.json.bak (last applied ${revisions.lastApplied?.slice(0, 12) ?? 'none'})`
        : `revisions.json was unreadable (${reason}) and has no usable copy: no last good revision is known, so the head is applied as a first revision (no rollback target until it succeeds)`,
      { file: this.path('revisions.json') },
    );
    await this.saveRevisions(revisions);
    return revisions;
  }

  saveRevisions(revisions: Revisions): Promise<void> {
    return this.#save('revisions.json', JSON.stringify(revisions, null, 1), 0o600, true);
  }

  async loadStatus(): Promise<HostStatus | null> {
    const read = await readJsonFile(this.path('status.json'));
    if (read.state === 'missing') return null;
    const parsed = read.state === 'ok' ? HostStatus.safeParse(read.value) : null;
    if (parsed?.success) return parsed.data;
    // A cache: the next reconcile writes a new one.
    this.#options.logger?.warn({ file: this.path('status.json'), reason: read.state === 'unreadable' ? read.reason : 'not a host status' }, 'status.json is unreadable; starting with a fresh status');
    return null;
  }

  saveStatus(status: HostStatus): Promise<void> {
    const key = statusNewsKey(status);
    const now = (this.#options.monotonicMs ?? monotonicMs)();
    const last = this.#statusWritten;
    // Not news and not due for a refresh: the file already says it (a pending write is still retried).
    if (last && last.key === key && now - last.at < STATUS_REFRESH_MS) return this.#enqueue();
    this.#statusWritten = { key, at: now };
    return this.#save('status.json', JSON.stringify(status, null, 1), 0o644, false);
  }

  /** Retries every pending write now (a save does this too). */
  flush(): Promise<void> {
    return this.#enqueue();
  }

  // The newest content per file wins; a save never rejects.
  #save(name: string, data: string, mode: number, backup: boolean): Promise<void> {
    // An idle agent saves the same inventory after every pass (every 30 s): the file
    // already says it, and rewriting it (and its copy) cost four fsyncs each time.
    // Pending writes are still retried.
    if (!this.#pending.has(name) && this.#written.get(name) === digest(data)) return this.#enqueue();
    this.#pending.set(name, { data, mode, backup });
    return this.#enqueue();
  }

  #enqueue(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#writeAll());
    return this.#writing;
  }

  async #writeAll(): Promise<void> {
    for (let next = this.#pending.entries().next(); !next.done; next = this.#pending.entries().next()) {
      const [name, write] = next.value;
      try {
        await writeFileAtomic(this.path(name), write.data, write.mode);
        this.#written.set(name, digest(write.data));
        // A newer save of the same file may have come in meanwhile: it stays pending (and is written next).
        if (this.#pending.get(name) === write) this.#pending.delete(name);
        if (write.backup) this.#pending.set(`${name}.bak`, { data: write.data, mode: write.mode, backup: false });
      } catch (error) {
        this.#failed(name, error);
        // The disk that refused one file refuses the next: try again at the next save.
        return;
      }
    }
    if (this.#failedSince !== null) {
      this.#options.logger?.info({ failedAttempts: this.#failures, sinceMs: Date.now() - this.#failedSince }, 'state files written again');
      this.#failedSince = null;
      this.#failures = 0;
    }
  }

  #failed(name: string, error: unknown): void {
    this.#failures++;
    if (this.#failedSince !== null) return; // said once per outage
    this.#failedSince = Date.now();
    const code = (error as NodeJS.ErrnoException).code;
    const message = `cannot write ${this.path(name)} (${code ?? messageOf(error)}): the previous file is kept and the write is retried at the next save; the agent works from memory meanwhile`;
    this.#options.logger?.error({ file: this.path(name), code: 'STATE_WRITE_FAILED', err: messageOf(error) }, message);
    this.#options.onEvent?.({ reason: 'StateWriteFailed', message, level: 'error' });
  }
}

function digest(data: string): string {
  return createHash('sha1').update(data).digest('base64');
}
