// The agent daemon: wires triggers (startup, Git poll, drift check, Docker
// events, the hub's reconcile-now) to one coalescing reconcile loop.
import type { Logger } from 'pino';
import { messageOf } from '../../shared/errors.ts';
import type { HostStatus, Trigger } from '../../shared/status.ts';
import { containerLabels, MANAGED_BY, type ContainerDriver } from '../drivers/types.ts';
import type { CycleOutcome, ReconcileCycle } from './reconcile-cycle.ts';
import { every, onCron, type Cancel } from './schedule.ts';
import { TriggerQueue } from './trigger-queue.ts';

export interface StatusSink {
  reportStatus(status: HostStatus): void;
}

export interface DaemonOptions {
  cycle: ReconcileCycle;
  status: () => HostStatus;
  containers: ContainerDriver;
  logger: Logger;
  /** Milliseconds, or a cron expression. */
  poll: number | string;
  driftCheckMs: number;
  sink?: StatusSink;
  /** Coalesces bursts of Docker events (a `docker rm -f` emits kill, die, stop, destroy). */
  eventDebounceMs?: number;
  onOutcome?: (trigger: Trigger, outcome: CycleOutcome) => void;
}

export class AgentDaemon {
  private readonly queue: TriggerQueue;
  private readonly cancels: Cancel[] = [];
  private eventTimer: NodeJS.Timeout | null = null;
  private connectedBefore = false;
  private streamDown = false;

  constructor(private readonly o: DaemonOptions) {
    this.queue = new TriggerQueue(
      async (trigger) => {
        const outcome = await o.cycle.run(trigger);
        o.logger.info({ trigger, result: outcome.result, converged: outcome.converged, revision: outcome.revision, reason: outcome.reason }, 'reconcile finished');
        o.sink?.reportStatus(o.status());
        o.onOutcome?.(trigger, outcome);
      },
      (error) => o.logger.error({ err: messageOf(error) }, 'reconcile crashed'),
    );
  }

  /** Asks for a reconcile now (the hub's reconcile-now, a signal, a test). */
  trigger(trigger: Trigger): Promise<void> {
    return this.queue.request(trigger);
  }

  start(): Promise<void> {
    const { poll, driftCheckMs } = this.o;
    this.cancels.push(typeof poll === 'string' ? onCron(poll, () => void this.trigger('poll'), 10_000) : every(poll, () => void this.trigger('poll')));
    this.cancels.push(every(driftCheckMs, () => void this.trigger('drift-check'), 0.05));
    this.cancels.push(
      this.o.containers.watch(
        (event) => {
          if (event.labels[containerLabels.managedBy] !== MANAGED_BY) return;
          if (!['die', 'stop', 'destroy', 'oom', 'health_status'].includes(event.action)) return;
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

  async stop(): Promise<void> {
    for (const cancel of this.cancels.splice(0)) cancel();
    if (this.eventTimer) clearTimeout(this.eventTimer);
    await this.queue.stop();
  }
}
