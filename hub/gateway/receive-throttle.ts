// How fast the hub reads one agent connection: a byte and a frame budget
// (HOST_LIMITS). Over budget, the hub stops reading the socket until the debt
// is paid, so a flooding agent fills its own TCP buffers and its own queue,
// not the hub's memory or CPU. A well-behaved agent never reaches the limits.
import type { WebSocket } from 'ws';
import { HOST_LIMITS, TokenBucket } from './host-limits.ts';

export class ReceiveThrottle {
  readonly #ws: WebSocket;
  readonly #bytes = new TokenBucket(HOST_LIMITS.receiveBytesPerSecond, HOST_LIMITS.receiveBurstBytes);
  readonly #frames = new TokenBucket(HOST_LIMITS.receiveFramesPerSecond, HOST_LIMITS.receiveBurstFrames);
  readonly #onPause: () => void;
  #timer: NodeJS.Timeout | null = null;

  constructor(ws: WebSocket, onPause: () => void) {
    this.#ws = ws;
    this.#onPause = onPause;
  }

  /** Counts one received frame; pauses reading when either budget is in debt. */
  received(data: Buffer | ArrayBuffer | Buffer[]): void {
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
    this.#bytes.spend(size);
    this.#frames.spend(1);
    if (this.#timer === null) this.check();
  }

  private check(): void {
    this.#timer = null;
    const wait = Math.max(this.#bytes.msUntilPaid(), this.#frames.msUntilPaid());
    if (wait === 0) {
      if (this.#ws.isPaused) this.#ws.resume();
      return;
    }
    if (!this.#ws.isPaused) {
      this.#ws.pause();
      this.#onPause();
    }
    this.#timer = setTimeout(() => this.check(), wait);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
