// Feeds the host problem tracker from the whole fleet on a cluster of hub
// replicas (docs/notifications.md, "On a cluster"), on the leader only: the
// fleet index is coherent on every replica (hub/cluster/change-follower.ts),
// so every host's connectivity is read from it, and a host whose status
// changed on another replica (its status time moved) has its full status read
// back from the store, up to a thousand in one query. Statuses of this replica's own
// agents arrive whole through the index's observer (no read back).
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { HostStatus } from '../../shared/status.ts';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import type { HostProblemTracker } from './host-problems.ts';

/** How long changed hosts are collected before they are looked at (one pass for a burst). */
const DRAIN_MS = 200;
/** Full statuses read back in one query. */
const READ_CHUNK = 1000;

interface Known {
  online: boolean;
  statusAt: string | null;
}

export class FleetProblemFeed {
  readonly #index: FleetIndex;
  readonly #store: FleetStore;
  readonly #tracker: HostProblemTracker;
  readonly #log: Logger;
  readonly #known = new Map<string, Known>();
  readonly #pending = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #draining = false;
  #stopped = false;

  constructor(o: { index: FleetIndex; store: FleetStore; tracker: HostProblemTracker; logger: Logger }) {
    this.#index = o.index;
    this.#store = o.store;
    this.#tracker = o.tracker;
    this.#log = o.logger;
  }

  /**
   * The state the tracker was seeded with: each host's connectivity now and
   * the status time it was fed; later changes are measured against this.
   */
  baseline(statusAt: ReadonlyMap<string, string | null>): void {
    for (const id of this.#index.ids()) {
      const h = this.#index.get(id);
      if (h) this.#known.set(id, { online: h.connectivity === 'Online', statusAt: statusAt.get(id) ?? h.statusUpdatedAt });
    }
  }

  /** A status of this replica's own agent, fed to the tracker whole. */
  localStatus(id: string, status: HostStatus): void {
    const k = this.#known.get(id);
    if (k) k.statusAt = status.updatedAt;
    else this.#known.set(id, { online: true, statusAt: status.updatedAt });
    this.#tracker.status(id, status);
  }

  removed(id: string): void {
    this.#known.delete(id);
    this.#tracker.removed(id);
  }

  /** The index changed this host (any replica's write, a session, a replica's death). */
  changed(id: string): void {
    if (this.#stopped) return;
    this.#pending.add(id);
    if (this.#timer !== null || this.#draining) return;
    this.#timer = setTimeout(() => void this.drain(), DRAIN_MS);
    this.#timer.unref();
  }

  private async drain(): Promise<void> {
    this.#timer = null;
    this.#draining = true;
    try {
      const ids = [...this.#pending];
      this.#pending.clear();
      const toRead: string[] = [];
      for (const id of ids) {
        const h = this.#index.get(id);
        if (!h) continue;
        const k = this.#known.get(id) ?? { online: false, statusAt: null };
        this.#known.set(id, k);
        const online = h.connectivity === 'Online';
        if (online !== k.online) {
          k.online = online;
          this.#tracker.connected(id, online);
        }
        if (h.statusUpdatedAt !== null && h.statusUpdatedAt !== k.statusAt) toRead.push(id);
      }
      for (let i = 0; i < toRead.length && !this.#stopped; i += READ_CHUNK) {
        for (const r of await this.#store.statuses(toRead.slice(i, i + READ_CHUNK))) {
          const k = this.#known.get(r.id);
          if (!k || this.#stopped || r.status.updatedAt === k.statusAt) continue;
          k.statusAt = r.status.updatedAt;
          this.#tracker.status(r.id, r.status);
        }
      }
    } catch (error) {
      this.#log.warn({ err: { message: messageOf(error) } }, 'could not read hosts\' statuses for notifications; they are read with their next change');
    } finally {
      this.#draining = false;
      if (this.#pending.size > 0 && !this.#stopped) this.changed([...this.#pending][0]!);
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#pending.clear();
  }
}
