// The agent's on-disk queue of reports the hub has not acknowledged yet:
// numbered with one increasing seq, bounded in bytes, saved atomically (and
// debounced) to the state directory, so reports survive a hub outage and an
// agent restart and go out in order when the hub is back.
// Only the latest status is kept (a snapshot supersedes every older one); when
// the queue is full the oldest events go first and are counted, and the
// latest status is never dropped.
import { readFileSync } from 'node:fs';
import type { EventReport, StatusReport } from '../../shared/protocol.ts';
import { writeFileAtomic } from '../state/atomic-file.ts';

export type QueuedReport = StatusReport | EventReport;

interface QueueFile {
  version: 1;
  nextSeq: number;
  droppedEvents: number;
  items: QueuedReport[];
}

export const DEFAULT_MAX_QUEUE_BYTES = 4 * 1024 * 1024;

export class ReportQueue {
  readonly #file: string;
  readonly #maxBytes: number;
  #items: Array<{ report: QueuedReport; bytes: number }> = [];
  #bytes = 0;
  #nextSeq = 1;
  #droppedEvents = 0;
  #saveTimer: NodeJS.Timeout | null = null;
  #saving: Promise<void> = Promise.resolve();
  /** Set when the file could not be read; the queue then starts empty. */
  readonly loadError: string | null = null;

  constructor(file: string, maxBytes = DEFAULT_MAX_QUEUE_BYTES) {
    this.#file = file;
    this.#maxBytes = maxBytes;
    let data: QueueFile | null = null;
    try {
      data = JSON.parse(readFileSync(file, 'utf8')) as QueueFile;
      if (data.version !== 1 || !Array.isArray(data.items) || !Number.isSafeInteger(data.nextSeq)) throw new Error('unknown queue file format');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.loadError = (error as Error).message;
      data = null;
    }
    if (data) {
      this.#nextSeq = data.nextSeq;
      this.#droppedEvents = data.droppedEvents;
      for (const report of data.items) this.append(report);
    }
  }

  get droppedEvents(): number {
    return this.#droppedEvents;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Every unacknowledged report, in seq order. */
  pending(): QueuedReport[] {
    return this.#items.map((i) => i.report);
  }

  private append(report: QueuedReport): void {
    const bytes = Buffer.byteLength(JSON.stringify(report));
    this.#items.push({ report, bytes });
    this.#bytes += bytes;
  }

  pushStatus(status: StatusReport['status']): StatusReport {
    const report: StatusReport = { type: 'status', seq: this.#nextSeq++, status };
    this.#items = this.#items.filter((i) => {
      if (i.report.type !== 'status') return true;
      this.#bytes -= i.bytes;
      return false;
    });
    this.append(report);
    this.enforceBound();
    this.scheduleSave();
    return report;
  }

  pushEvent(event: Omit<EventReport, 'type' | 'seq'>): EventReport {
    const report: EventReport = { type: 'event', seq: this.#nextSeq++, ...event };
    this.append(report);
    this.enforceBound();
    this.scheduleSave();
    return report;
  }

  private enforceBound(): void {
    while (this.#bytes > this.#maxBytes) {
      const oldest = this.#items.findIndex((i) => i.report.type === 'event');
      if (oldest < 0) return; // only the latest status is left: it is always kept
      const [gone] = this.#items.splice(oldest, 1);
      this.#bytes -= gone!.bytes;
      this.#droppedEvents++;
    }
  }

  /** The hub has stored everything up to `seq`. */
  ackUpTo(seq: number): void {
    const before = this.#items.length;
    this.#items = this.#items.filter((i) => {
      if (i.report.seq > seq) return true;
      this.#bytes -= i.bytes;
      return false;
    });
    if (this.#items.length !== before) this.scheduleSave();
  }

  /**
   * On welcome: the hub's stored seq. When it is at or past our counter (this
   * agent's state was lost or reset), renumber what is pending after it, or
   * the hub would ignore it as already seen; otherwise it is a plain ack.
   */
  rebase(hubLastSeq: number): void {
    if (hubLastSeq < this.#nextSeq) {
      this.ackUpTo(hubLastSeq);
      return;
    }
    this.#nextSeq = hubLastSeq + 1;
    for (const i of this.#items) i.report = { ...i.report, seq: this.#nextSeq++ };
    this.scheduleSave();
  }

  private scheduleSave(): void {
    if (this.#saveTimer !== null) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = null;
      void this.save().catch(() => undefined);
    }, 100);
    this.#saveTimer.unref();
  }

  /** Writes the queue now (after any write in progress). Rejects when the disk refuses. */
  save(): Promise<void> {
    if (this.#saveTimer !== null) {
      clearTimeout(this.#saveTimer);
      this.#saveTimer = null;
    }
    const data: QueueFile = { version: 1, nextSeq: this.#nextSeq, droppedEvents: this.#droppedEvents, items: this.pending() };
    this.#saving = this.#saving.catch(() => undefined).then(() => writeFileAtomic(this.#file, JSON.stringify(data), 0o600));
    return this.#saving;
  }
}
