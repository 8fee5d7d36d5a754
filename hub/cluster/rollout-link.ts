// Staged rollouts on a cluster (docs/rollouts.md, On a cluster): wires each
// replica's rollout coordinator to the others through NOTIFY. The leader's
// coordinator leads; after each change it stores, it says so (and re-says it
// every few seconds, so a notice lost with a dropped connection costs seconds,
// not a rollout). The others reload the rollouts from the database and release
// to the agents connected to them. An admin action on a follower is handed to
// the leader, which takes it and answers; the follower answers the admin.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { RolloutCoordinator } from '../rollout/coordinator.ts';
import type { AdminAction } from '../rollout/rollout-engine.ts';
import type { RolloutNotice } from './rollout-notices.ts';

/** How long a follower waits for the leader's answer to an admin action. */
const ACT_TIMEOUT_MS = 10_000;
/** How often the leader repeats its latest `rollouts` notice. */
const REPEAT_MS = 5_000;

type Answer = { ok: true } | { ok: false; status: 404 | 409; why: string };

export interface RolloutLinkOptions {
  replica: string;
  publish: (payload: string) => Promise<void>;
  /** The leader planned a head this replica has not taken: take it from the database (its notice may have been lost). */
  missingHead?: (revision: string) => void;
  logger: Logger;
}

export class ClusterRolloutLink {
  readonly #o: RolloutLinkOptions;
  readonly #log: Logger;
  #coordinator: RolloutCoordinator | null = null;
  /** The leader's change counter; followers remember the last one they loaded per leader. */
  #version = 0;
  #seen = '';
  readonly #pending = new Map<string, (answer: Answer | null) => void>();
  #repeat: NodeJS.Timeout | null = null;

  constructor(o: RolloutLinkOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'rollouts' });
  }

  attach(coordinator: RolloutCoordinator): void {
    this.#coordinator = coordinator;
  }

  /** The leader's coordinator stored a change or planned a head. */
  changed(revision: string | null): void {
    this.#version++;
    this.#say(revision);
  }

  #say(revision: string | null): void {
    this.#send({ k: 'rollouts', from: this.#o.replica, revision, v: this.#version });
  }

  /** This replica leads now: repeat its latest notice every few seconds. */
  leading(): void {
    if (this.#repeat) clearInterval(this.#repeat);
    this.#repeat = setInterval(() => this.#say(this.#coordinator?.revision ?? null), REPEAT_MS);
    this.#repeat.unref();
  }

  following(): void {
    if (this.#repeat) clearInterval(this.#repeat);
    this.#repeat = null;
  }

  /** A replica that just joined asks the leader where the rollouts stand. */
  ask(): void {
    this.#send({ k: 'rollouts?', from: this.#o.replica });
  }

  /** A follower's admin action: taken by the leader; null when none answered in time. */
  forward(id: string, action: AdminAction, by: string): Promise<Answer | null> {
    const req = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(req);
        resolve(null);
      }, ACT_TIMEOUT_MS);
      timer.unref();
      this.#pending.set(req, (answer) => {
        clearTimeout(timer);
        this.#pending.delete(req);
        resolve(answer);
      });
      this.#send({ k: 'rollout-act', from: this.#o.replica, req, id, action, by });
    });
  }

  /** Every rollout notice this replica hears (its own included). */
  heard(n: RolloutNotice): void {
    const c = this.#coordinator;
    if (!c) return;
    switch (n.k) {
      case 'rollouts': {
        if (n.from === this.#o.replica || c.leading) return;
        // A repeat of what this replica loaded already costs nothing.
        const key = `${n.from} ${n.v} ${n.revision}`;
        if (key === this.#seen && c.revision === n.revision) return;
        this.#seen = key;
        void c.sync(n.revision).then(() => {
          // Still not that head after reloading: this replica missed it; the leader's repeats retry this.
          if (n.revision !== null && c.revision !== n.revision) this.#o.missingHead?.(n.revision);
        });
        return;
      }
      case 'rollouts?':
        if (c.leading) this.#say(c.revision);
        return;
      case 'rollout-act':
        if (!c.leading) return;
        void c.act(n.id, n.action, n.by).then((r) => {
          // 503 is the follower's own answer when no leader replies; the leader's is 404 or 409.
          const answer = r.ok ? { ok: true, status: 409 as const, why: '' } : { ok: false, status: r.status === 404 ? (404 as const) : (409 as const), why: r.why.slice(0, 1000) };
          this.#send({ k: 'rollout-acted', to: n.from, req: n.req, ...answer });
        });
        return;
      case 'rollout-acted':
        if (n.to === this.#o.replica) this.#pending.get(n.req)?.(n.ok ? { ok: true } : { ok: false, status: n.status, why: n.why });
        return;
    }
  }

  stop(): void {
    this.following();
    for (const answer of [...this.#pending.values()]) answer(null);
  }

  #send(n: RolloutNotice): void {
    this.#o.publish(JSON.stringify(n)).catch((error: unknown) => this.#log.warn({ notice: n.k, err: { message: messageOf(error) } }, 'could not send a rollout notice to the other replicas'));
  }
}
