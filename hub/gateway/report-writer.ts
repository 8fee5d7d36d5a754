// Stores one connected host's reports within its budget (HOST_LIMITS):
// statuses are coalesced to at most one write per interval, the newest kept
// (older ones are superseded, not lost: a status is a full snapshot); events
// and new attempts beyond their rate are dropped and counted; stored attempts
// are cut to a bounded size. Everything the agent sent is acked once it is
// stored, superseded or dropped, so an agent never resends for ever.
//
// Runs inside the session's chain (one task at a time, in arrival order);
// a deferred status write is queued onto that chain with `enqueue`.
import type { Logger } from 'pino';
import type { EventReport } from '../../shared/protocol.ts';
import type { Attempt, HostStatus } from '../../shared/status.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import type { HubMetrics } from '../metrics.ts';
import { HOST_LIMITS, TokenBucket, boundAttempt } from './host-limits.ts';

export interface ReportWriterContext {
  host: string;
  store: FleetStore;
  index: FleetIndex;
  metrics: HubMetrics;
  log: Logger;
  now: () => Date;
  /** Acks everything up to seq (the session coalesces and keeps it monotonic). */
  ack(seq: number): void;
  /** Runs a task on the session's chain, after everything received so far. */
  enqueue(task: () => Promise<void>): void;
}

/** One hub event about the drops of the last window, at most this often per host. */
const DROP_REPORT_INTERVAL_MS = 60_000;

export class ReportWriter {
  readonly #o: ReportWriterContext;
  readonly #events = new TokenBucket(HOST_LIMITS.eventsPerSecond, HOST_LIMITS.eventBurst);
  readonly #attempts = new TokenBucket(HOST_LIMITS.attemptsPerSecond, HOST_LIMITS.attemptBurst);
  #pending: { seq: number; status: HostStatus } | null = null;
  /** Events that arrived while a status waits: stored with it, in seq order (the store refuses a seq below the one it holds). */
  #held: EventReport[] = [];
  #timer: NodeJS.Timeout | null = null;
  #lastWriteAt = 0;
  /** Highest seq received and dealt with (stored, superseded or dropped). */
  #handled = 0;
  /** Newest attempt start time this connection has stored or dropped: attempts at or before it are not new. */
  #newestAttempt = '';
  #dropped = { events: 0, attempts: 0 };
  #dropReportAt = 0;
  #closed = false;

  constructor(o: ReportWriterContext) {
    this.#o = o;
  }

  async status(seq: number, status: HostStatus): Promise<void> {
    if (this.#pending) this.#o.metrics.coalesced.inc();
    this.#pending = { seq, status };
    this.#handled = Math.max(this.#handled, seq);
    const wait = this.#lastWriteAt + HOST_LIMITS.statusWriteIntervalMs - Date.now();
    if (wait <= 0) await this.flush();
    else {
      this.sendAck();
      if (this.#timer === null) {
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.#o.enqueue(() => this.flush());
        }, wait);
        this.#timer.unref();
      }
    }
  }

  async event(e: EventReport): Promise<void> {
    this.#handled = Math.max(this.#handled, e.seq);
    if (!this.#events.tryTake()) {
      this.drop('events', 1);
      this.sendAck();
      await this.reportDrops();
      return;
    }
    // While a status waits, events wait with it, so the status write rate holds whatever the events do.
    if (this.#pending) this.#held.push(e);
    else await this.storeEvent(e);
    this.sendAck();
  }

  private async storeEvent(e: EventReport): Promise<void> {
    await this.#o.store.appendEvent(this.#o.host, { seq: e.seq, time: e.time, level: e.level, reason: e.reason, message: e.message, resource: e.resource });
  }

  /** Writes the waiting status, if any, with the events held since, in seq order. */
  private async flush(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const pending = this.#pending;
    if (!pending || this.#closed) return;
    const held = this.#held;
    this.#held = [];
    this.#lastWriteAt = Date.now();
    for (const e of held) if (e.seq < pending.seq) await this.storeEvent(e);
    const status = { ...pending.status, attempts: this.admitAttempts(pending.status.attempts) };
    const applied = await this.#o.store.saveStatus(this.#o.host, pending.seq, status);
    if (applied) this.#o.index.status(this.#o.host, status);
    this.#pending = null;
    for (const e of held) if (e.seq > pending.seq) await this.storeEvent(e);
    await this.reportDrops();
    this.sendAck();
  }

  /** The attempts to store: old ones as they are, new ones within the rate (newest first), each cut to its size bound. */
  private admitAttempts(attempts: Attempt[]): Attempt[] {
    const since = this.#newestAttempt;
    const fresh = attempts.filter((a) => a.startedAt > since).sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
    const allowed = Math.min(fresh.length, this.#attempts.available());
    this.#attempts.tryTake(allowed);
    const admitted = new Set(fresh.slice(0, allowed));
    if (fresh.length > allowed) this.drop('attempts', fresh.length - allowed);
    if (fresh.length > 0) this.#newestAttempt = fresh[0]!.startedAt;
    return attempts.filter((a) => a.startedAt <= since || admitted.has(a)).map((a) => boundAttempt(a));
  }

  private drop(kind: 'events' | 'attempts', n: number): void {
    this.#dropped[kind] += n;
    this.#o.metrics.dropped.inc({ kind: kind === 'events' ? 'event' : 'attempt' }, n);
  }

  /** One warning event per window naming what was dropped, so the host's history says so. */
  private async reportDrops(): Promise<void> {
    const { events, attempts } = this.#dropped;
    if (events + attempts === 0 || Date.now() - this.#dropReportAt < DROP_REPORT_INTERVAL_MS) return;
    this.#dropReportAt = Date.now();
    this.#dropped = { events: 0, attempts: 0 };
    const message = `the hub dropped ${events} event(s) and ${attempts} attempt(s) from this host: over its rate (${HOST_LIMITS.eventsPerSecond} events/s, ${HOST_LIMITS.attemptsPerSecond} attempts/s)`;
    this.#o.log.warn({ host: this.#o.host, events, attempts }, message);
    await this.#o.store.appendEvent(this.#o.host, { time: this.#o.now().toISOString(), level: 'warning', reason: 'ReportsRateLimited', message });
  }

  private sendAck(): void {
    const upTo = this.#pending ? Math.min(this.#handled, this.#pending.seq - 1) : this.#handled;
    if (upTo > 0) this.#o.ack(upTo);
  }

  /** Forgets a waiting status and held events (not acked: the agent resends them on its next connection). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
