// Commit status write-back (docs/notifications.md, "Commit status in the
// forge"): for the fleet's head revision, pending while hosts apply it,
// success once every affected host has, failure with a summary
// ("3 of 45 hosts failed: web-07, …") as soon as one fails; a head replaced
// before it got there is marked superseded. Debounced (one evaluation per
// `debounceMs` however many hosts report), posted only when what the forge
// would show changes, rate-limited and retried by the delivery queue, a
// newer status for a commit replacing one not yet sent.
import type { Logger } from 'pino';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import type { HostProblemTracker } from '../notify/host-problems.ts';
import type { DeliveryQueue } from '../notify/delivery-queue.ts';
import { revisionProgress } from '../notify/revision-progress.ts';
import type { RevisionProgress } from '../notify/revision-progress.ts';
import { postTo } from '../notify/http-post.ts';
import type { CommitStatusConfig } from './forge-config.ts';
import { forgeRequest } from './forge-api.ts';
import type { FleetCommitState } from './forge-api.ts';
import type { NotifyState } from '../notify/notify-state.ts';

export const FORGE_LANE = 'forge';
/** Failed hosts named in a failure description; the rest are counted. */
const NAMED_FAILURES = 3;
/** Commits whose last posted status is remembered (to post only changes). */
const REMEMBERED = 100;
/** notify_state key of a commit's last posted status (kept across restarts and leader changes: not posted twice). */
const postedKey = (sha: string) => `commit:${sha}`;

export function describe(p: RevisionProgress): { state: FleetCommitState; description: string } {
  if (p.failed.length > 0) {
    const named = p.failed.slice(0, NAMED_FAILURES).join(', ');
    return { state: 'failure', description: `${p.failed.length} of ${p.affected} hosts failed: ${named}${p.failed.length > NAMED_FAILURES ? ', …' : ''}` };
  }
  if (p.affected > 0 && p.applied === p.affected) return { state: 'success', description: `${p.applied} of ${p.affected} hosts applied it` };
  return { state: 'pending', description: p.affected === 0 ? 'waiting for hosts to report' : `${p.applied} of ${p.affected} hosts applied it` };
}

export interface CommitStatusView {
  forge: string;
  revision: string | null;
  state: FleetCommitState | null;
  description: string | null;
}

export class CommitStatusReporter {
  readonly #c: CommitStatusConfig;
  readonly #index: FleetIndex;
  readonly #tracker: HostProblemTracker;
  readonly #queue: DeliveryQueue;
  readonly #log: Logger;
  /** sha → the "state description" last handed to the queue. */
  readonly #posted = new Map<string, string>();
  #current: { revision: string; state: FleetCommitState; description: string; progress: RevisionProgress } | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #unsubscribe: () => void;
  readonly #state: NotifyState | null;

  constructor(o: { config: CommitStatusConfig; index: FleetIndex; tracker: HostProblemTracker; queue: DeliveryQueue; logger: Logger; state?: NotifyState | null }) {
    this.#state = o.state ?? null;
    this.#c = o.config;
    this.#index = o.index;
    this.#tracker = o.tracker;
    this.#queue = o.queue;
    this.#log = o.logger;
    o.queue.addLane(FORGE_LANE, { retry: o.config.retry, minIntervalMs: o.config.minIntervalMs });
    this.#unsubscribe = o.tracker.subscribe({ changed: () => this.schedule() });
  }

  /** What the previous sender posted (its saved state): the same status is not posted again. */
  restore(saved: ReadonlyMap<string, string>): void {
    for (const [key, body] of saved) if (key.startsWith('commit:')) this.#posted.set(key.slice('commit:'.length), JSON.parse(body) as string);
    this.forget();
  }

  /** Keeps the newest REMEMBERED commits, in memory and in the saved state. */
  private forget(): void {
    while (this.#posted.size > REMEMBERED) {
      const sha = this.#posted.keys().next().value!;
      this.#posted.delete(sha);
      this.#state?.mark(postedKey(sha), () => null);
    }
  }

  private remember(sha: string, key: string): void {
    this.#posted.delete(sha);
    this.#posted.set(sha, key);
    this.#state?.mark(postedKey(sha), () => JSON.stringify(key));
    this.forget();
  }

  /** Something changed (a host reported, the head moved): evaluate once the debounce has passed. */
  schedule(): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.evaluate();
    }, this.#c.debounceMs);
    this.#timer.unref();
  }

  view(): CommitStatusView {
    return { forge: this.#c.forge, revision: this.#current?.revision ?? null, state: this.#current?.state ?? null, description: this.#current?.description ?? null };
  }

  evaluate(): void {
    const head = this.#index.head?.revision;
    if (!head || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(head)) return;
    const previous = this.#current;
    const progress = revisionProgress(this.#index.all(), head, (id) => this.#tracker.problems(id));
    const { state, description } = describe(progress);
    this.#current = { revision: head, state, description, progress };
    if (previous && previous.revision !== head && previous.state === 'pending') {
      this.post(previous.revision, 'superseded', `superseded by ${head.slice(0, 7)} after ${previous.progress.applied} of ${previous.progress.affected} hosts applied it`);
    }
    // GitLab refuses a repeated state, so only a change of state is posted there; elsewhere the count is kept current too.
    const key = this.#c.forge === 'gitlab' ? state : `${state} ${description}`;
    if (this.#posted.get(head) === key) return;
    this.post(head, state, description);
    this.remember(head, key);
  }

  private post(sha: string, state: FleetCommitState, description: string): void {
    if (state === 'superseded') this.remember(sha, 'superseded');
    const target = `${this.#c.webUrl}/#/commits/${sha}`;
    const request = forgeRequest(this.#c, sha, state, description, target);
    this.#log.info({ forge: this.#c.forge, revision: sha, state }, `commit status: ${description}`);
    this.#queue.enqueue(FORGE_LANE, async () => {
      await postTo(`${this.#c.forge} commit status`, request.url, request.body, request.headers, this.#c.timeoutMs);
    }, `commit:${sha}`);
  }

  stop(): void {
    this.#unsubscribe();
    if (this.#timer !== null) clearTimeout(this.#timer);
  }
}
