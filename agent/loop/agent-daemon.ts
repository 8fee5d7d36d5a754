// The agent daemon: wires triggers (startup, Git poll, drift check, Docker
// events, the hub's reconcile-now, the retry of a host failure) to one
// coalescing reconcile loop; reports a reconcile's start (coalesced) and end;
// stop() aborts the running reconcile at its next safe point.
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { HostStatus, Trigger } from '../../shared/status.ts';
import { containerLabels, MANAGED_BY, type ContainerDriver } from '../drivers/types.ts';
import type { Outcome, Reconciler, Target } from './reconciler.ts';
import { jittered, onCron, type Cancel } from './schedule.ts';
import { TriggerQueue } from './trigger-queue.ts';

export interface StatusSink {
  /** force: send even if nothing but timestamps changed (the hub asked for this pass and waits for its answer). */
  reportStatus(status: HostStatus, o?: { force?: boolean }): void;
}

export interface DaemonOptions {
  /** The reconciler (named cycle for the callers that predate it). */
  cycle: Reconciler;
  status: () => HostStatus;
  containers: ContainerDriver;
  logger: Logger;
  /** Milliseconds, or a cron expression. */
  poll: number | string;
  driftCheckMs: number;
  sink?: StatusSink;
  /** Coalesces bursts of Docker events (a `docker rm -f` emits kill, die, stop, destroy). */
  eventDebounceMs?: number;
  /** After every reconcile, with how long it took (the agent's metrics). */
  onOutcome?: (trigger: Trigger, outcome: Outcome, durationMs: number) => void;
  /**
   * "Reconciling" reaches the hub while a reconcile runs, but a storm of short
   * reconciles must not flood it: a start is reported only when the reconcile
   * is still running after `delayMs` (default 1 s), and at most once per
   * `minGapMs` (default 10 s).
   */
  startReport?: { delayMs?: number; minGapMs?: number };
}

export class AgentDaemon {
  private readonly queue: TriggerQueue;
  private readonly cancels: Cancel[] = [];
  private eventTimer: NodeJS.Timeout | null = null;
  private connectedBefore = false;
  private streamDown = false;
  private readonly abort = new AbortController();
  private retryTimer: NodeJS.Timeout | null = null;
  private lastStartReport = Number.NEGATIVE_INFINITY;
  private pollTimer: NodeJS.Timeout | null = null;
  private nextPollAt = Number.POSITIVE_INFINITY;
  private driftTimer: NodeJS.Timeout | null = null;
  private started = false;
  /** "Reconciling" reports sent to the hub; for tests and metrics. */
  startReports = 0;

  constructor(private readonly o: DaemonOptions) {
    this.queue = new TriggerQueue(
      async (trigger) => {
        const started = o.sink ? setTimeout(() => this.reportStarted(), o.startReport?.delayMs ?? 1000) : null;
        let outcome: Outcome;
        const startedAt = Date.now();
        try {
          outcome = await o.cycle.run(trigger, { signal: this.abort.signal });
        } finally {
          if (started) clearTimeout(started);
          // Every pass looked at the host: the next drift check is a drift interval from now.
          this.armDriftCheck();
        }
        const level = outcome.result === 'Refused' || outcome.result === 'Failed' || outcome.result === 'RolledBack' ? 'warn' : 'info';
        o.logger[level]({ trigger, result: outcome.result, converged: outcome.converged, revision: outcome.revision, reason: outcome.reason, ...(outcome.retryAt ? { retryAt: new Date(outcome.retryAt).toISOString() } : {}) }, 'reconcile finished');
        o.sink?.reportStatus(o.status(), { force: trigger === 'hub' || trigger === 'manual' });
        this.scheduleRetry(outcome.retryAt ?? null);
        o.onOutcome?.(trigger, outcome, Date.now() - startedAt);
      },
      (error) => o.logger.error({ err: messageOf(error) }, 'reconcile crashed'),
    );
  }

  private reportStarted(): void {
    const now = Date.now();
    if (now - this.lastStartReport < (this.o.startReport?.minGapMs ?? 10_000)) return;
    this.lastStartReport = now;
    this.startReports++;
    this.o.sink?.reportStatus(this.o.status());
  }

  /** One retry timer, for the earliest retry the reconciler asked for. */
  private scheduleRetry(at: number | null): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (at === null || this.abort.signal.aborted) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.trigger('retry');
    }, Math.max(0, at - Date.now()));
    this.retryTimer.unref();
  }

  /** Asks for a reconcile now (the hub's reconcile-now, a signal, a test). */
  trigger(trigger: Trigger): Promise<void> {
    return this.queue.request(trigger);
  }

  /** The next poll of an interval (not cron) schedule, `ms` from now. */
  private armPoll(ms: number): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.nextPollAt = Date.now() + ms;
    this.pollTimer = setTimeout(() => this.pollNow(), ms);
    this.pollTimer.unref();
  }

  private pollNow(): void {
    this.armPoll(jittered(this.o.poll as number));
    void this.trigger('poll');
  }

  /**
   * A drift check looks at the host; so does every other pass (a poll, a Docker
   * event, the hub's reconcile-now). With the defaults (poll 60 s, drift check
   * 30 s) every other drift check landed next to a poll: an idle agent looked at
   * its host three times a minute instead of twice. So the drift check is due a
   * drift interval after the last pass, whatever triggered it; and one with a
   * poll due within half a drift interval runs that poll now instead (the next
   * poll is counted from it). The host is still looked at at least every drift
   * interval, the source polled at least every poll interval.
   */
  private armDriftCheck(): void {
    if (this.driftTimer) clearTimeout(this.driftTimer);
    this.driftTimer = null;
    if (!this.started || this.abort.signal.aborted) return;
    this.driftTimer = setTimeout(() => {
      this.driftTimer = null;
      this.driftCheck();
    }, jittered(this.o.driftCheckMs, 0.05));
    this.driftTimer.unref();
  }

  private driftCheck(): void {
    if (typeof this.o.poll === 'number' && this.nextPollAt - Date.now() <= this.o.driftCheckMs / 2) {
      this.pollNow();
      return;
    }
    void this.trigger('drift-check');
  }

  start(): Promise<void> {
    const { poll } = this.o;
    if (typeof poll === 'string') this.cancels.push(onCron(poll, () => void this.trigger('poll'), 10_000));
    else {
      this.armPoll(jittered(poll));
      this.cancels.push(() => {
        if (this.pollTimer) clearTimeout(this.pollTimer);
        this.nextPollAt = Number.POSITIVE_INFINITY;
      });
    }
    this.started = true;
    this.armDriftCheck();
    this.cancels.push(() => {
      this.started = false;
      if (this.driftTimer) clearTimeout(this.driftTimer);
    });
    this.cancels.push(
      this.o.containers.watch(
        (event) => {
          if (event.labels[containerLabels.managedBy] !== MANAGED_BY) return;
          if (!['die', 'stop', 'destroy', 'oom', 'health_status'].includes(event.action)) return;
          // A gitfleet container neither the current revision nor the one being applied declares:
          // another agent's on a shared engine (a test machine, two agents on one host). Not a
          // reason to look at this host (with a busy neighbour, every pass would wake the next).
          const id = event.labels[containerLabels.resource];
          const declares = (t: Target | null) => t?.desired.resources.some((r) => r.id === id) === true;
          if (this.o.cycle.current && !declares(this.o.cycle.current) && !declares(this.o.cycle.applying)) return;
          if (this.eventTimer) return;
          this.eventTimer = setTimeout(() => {
            this.eventTimer = null;
            void this.trigger('docker-event');
          }, this.o.eventDebounceMs ?? 300);
        },
        (error) => {
          // Said once per outage, not on every retry (a host without Docker would log forever).
          if (this.streamDown) return;
          this.streamDown = true;
          this.o.logger.warn({ err: error.message }, 'Docker event stream unavailable; retrying quietly, the periodic drift check still runs');
        },
        () => {
          if (this.streamDown) this.o.logger.info('Docker event stream connected again');
          this.streamDown = false;
          // Events during an outage are lost: look at the host again once the stream is back.
          if (this.connectedBefore) void this.trigger('docker-event');
          this.connectedBefore = true;
        },
      ),
    );
    return this.trigger('startup');
  }

  /** Stops every trigger, aborts the running reconcile at its next safe point and waits for it. */
  async stop(): Promise<void> {
    for (const cancel of this.cancels.splice(0)) cancel();
    if (this.eventTimer) clearTimeout(this.eventTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.abort.abort(new Error('the agent is stopping'));
    await this.queue.stop();
  }
}
