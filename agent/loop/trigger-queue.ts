// One reconcile at a time; triggers that arrive meanwhile coalesce into a
// single follow-up run. A trigger that needs the source (poll, hub) outranks
// one that only re-checks the host (drift check, Docker event).
import type { Trigger } from '../../shared/status.ts';

const rank: Record<Trigger, number> = {
  'drift-check': 0,
  'docker-event': 1,
  rollback: 1,
  poll: 2,
  startup: 3,
  hub: 3,
  manual: 3,
  retry: 2,
};

export class TriggerQueue {
  private running: Promise<void> | null = null;
  private pending: Trigger | null = null;
  private stopped = false;
  /** Runs that were merged into another; for tests and metrics. */
  coalesced = 0;

  constructor(
    private readonly run: (trigger: Trigger) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Asks for a reconcile; returns a promise that settles when a run covering it has finished. */
  request(trigger: Trigger): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      if (this.pending !== null) this.coalesced++;
      this.pending = this.pending === null || rank[trigger] > rank[this.pending] ? trigger : this.pending;
      // The loop runs the pending trigger before it settles.
      return this.running;
    }
    this.running = this.loop(trigger);
    return this.running;
  }

  private async loop(first: Trigger): Promise<void> {
    let trigger: Trigger | null = first;
    while (trigger !== null && !this.stopped) {
      try {
        await this.run(trigger);
      } catch (error) {
        this.onError(error);
      }
      trigger = this.pending;
      this.pending = null;
    }
    this.running = null;
  }

  /** Stops accepting triggers and waits for the run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = null;
    await this.running;
  }
}
