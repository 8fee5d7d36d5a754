// What a verified push does: re-read the head, work out which hosts' layers
// changed since the revision the hub last told agents about, and send those
// hosts reconcile-now (every host when that cannot be told).
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import { withAncestors } from '../fleet/rollup.ts';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import type { Reconciler } from '../fleet/reconcile.ts';
import type { HeadTracker } from '../git/head-tracker.ts';
import { affectedHosts } from '../git/affected-hosts.ts';
import type { HostLayers } from '../git/affected-hosts.ts';
import type { PushNotice } from './verify-webhook.ts';

export interface PushResult {
  revision: string | null;
  /** Tree-relative paths changed since the last notified revision; null when unknown. */
  changedPaths: number | null;
  affected: number;
  reached: number;
}

export class PushHandler {
  #notified: string | null = null;

  constructor(
    private readonly index: FleetIndex,
    private readonly tracker: HeadTracker | null,
    private readonly reconciler: Reconciler,
    private readonly logger: Logger,
  ) {}

  /** The revision agents were last told about (the head at start, then each push's). */
  baseline(revision: string): void {
    this.#notified ??= revision;
  }

  private layers(): HostLayers[] {
    const head = this.tracker?.head;
    const declared = new Map((head?.hosts ?? []).map((h) => [h.id, h]));
    return this.index.all().map((h) => {
      const d = declared.get(h.id);
      if (d) return { id: h.id, dir: d.dir, crossTags: d.crossTags };
      const pathTags = new Set(withAncestors(h.place));
      return { id: h.id, dir: h.place, crossTags: h.tags.filter((t) => !pathTags.has(t)) };
    });
  }

  async handle(notice: PushNotice): Promise<PushResult> {
    let revision: string | null = null;
    let changed: string[] | null = null;
    if (this.tracker) {
      try {
        const head = await this.tracker.refresh();
        revision = head.revision;
        const from = this.#notified;
        changed = from === null ? null : from === revision ? [] : await this.tracker.changedPaths(from, revision);
      } catch (error) {
        // The push happened even if the hub cannot read it: agents fetch for themselves.
        this.logger.warn({ err: error }, `webhook: cannot tell what changed (${messageOf(error)}); notifying every host`);
        changed = null;
      }
    }
    const hosts = affectedHosts(changed, this.layers());
    const short = (revision ?? notice.after ?? 'unknown').slice(0, 12);
    const outcome = hosts.length > 0 ? this.reconciler.request(hosts, `${notice.provider} push: ${short}`, 'webhook') : { reached: [] };
    if (revision !== null) this.#notified = revision;
    return { revision, changedPaths: changed?.length ?? null, affected: hosts.length, reached: outcome.reached.length };
  }
}
