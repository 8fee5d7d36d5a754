// Keeps the hub's idea of the repo head current: on a schedule and whenever a
// webhook asks. Refreshes never overlap (a caller during a refresh shares its
// result), and a failed refresh keeps the last known head. In a cluster only
// the leader polls (start/pause); the others adopt the head it shares.
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { FleetHead, FleetRepoView } from './fleet-repo-view.ts';
import { ImpactCache } from './impact-cache.ts';

export class HeadTracker {
  readonly #view: FleetRepoView;
  readonly #log: Logger;
  readonly #onHead: (head: FleetHead, origin: 'read' | 'adopted') => void;
  #head: FleetHead | null = null;
  #running: Promise<FleetHead> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #paused = true;
  lastError: string | null = null;
  /** The impact preview of each new head against the one before (GET /api/v1/commits/:rev/impact). */
  readonly impacts: ImpactCache;

  constructor(view: FleetRepoView, logger: Logger, onHead: (head: FleetHead, origin: 'read' | 'adopted') => void) {
    this.#view = view;
    this.#log = logger.child({ component: 'head-tracker' });
    this.#onHead = onHead;
    this.impacts = new ImpactCache(view.impact ? (from, to) => view.impact!(from, to) : null, logger);
  }

  get head(): FleetHead | null {
    return this.#head;
  }

  refresh(): Promise<FleetHead> {
    if (this.#running) return this.#running;
    this.#running = (async () => {
      try {
        const head = await this.#view.refresh();
        const previous = this.#head?.revision ?? null;
        const changed = head.revision !== previous;
        this.#head = head;
        this.lastError = null;
        if (changed) {
          this.#log.info({ revision: head.revision, hosts: head.hosts.length, issues: head.issues.length }, 'fleet repo head');
          this.#onHead(head, 'read');
          this.impacts.headChanged(previous, head.revision);
        }
        return head;
      } catch (error) {
        this.lastError = messageOf(error);
        this.#log.warn({ err: error }, 'could not read the fleet repo head; keeping the last known one');
        throw error;
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  /** A head another replica read (docs/hub.md, Several replicas): taken as if read here. */
  adopt(head: FleetHead): void {
    if (head.revision === this.#head?.revision) return;
    const previous = this.#head?.revision ?? null;
    this.#head = head;
    this.lastError = null;
    this.#log.info({ revision: head.revision, hosts: head.hosts.length }, 'fleet repo head (shared by another replica)');
    this.#onHead(head, 'adopted');
    this.impacts.headChanged(previous, head.revision);
  }

  changedPaths(from: string, to: string): Promise<string[] | null> {
    return this.#view.changedPaths(from, to);
  }

  start(intervalMs: number): void {
    if (!this.#paused || this.#stopped) return;
    this.#paused = false;
    const tick = () => {
      if (this.#paused || this.#stopped) return;
      this.refresh().then(
        () => undefined,
        () => undefined,
      ).finally(() => {
        if (this.#stopped || this.#paused) return;
        this.#timer = setTimeout(tick, intervalMs * (0.9 + Math.random() * 0.2));
        this.#timer.unref();
      });
    };
    tick();
  }

  /** Stops polling (this replica no longer leads); refresh() still works. */
  pause(): void {
    this.#paused = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
    await this.#view.close?.();
  }
}
