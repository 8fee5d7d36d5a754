// A fault-injecting TCP proxy for tests (this kernel has no netem qdisc): put it
// between an agent and its hub or Git server and switch, at run time, between
// a good link, added latency, a stall (nothing forwarded, nothing closed), a cut
// of every connection after K more bytes, and an outage (connections refused,
// or accepted and black-holed). It counts the bytes it forwards each way, so a
// test can say what a poll or a report really costs on the wire.
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';

export type Outage = 'refuse' | 'blackhole';
/** up: client → target; down: target → client. */
export type Direction = 'up' | 'down';

export interface ProxyBytes {
  up: number;
  down: number;
}

interface Pipe {
  dst: Socket;
  src: Socket;
  dir: Direction;
  queue: Array<{ due: number; chunk: Buffer }>;
  queued: number;
  timer: NodeJS.Timeout | null;
  /** Under a rate limit, when this direction may send again. */
  sendableAt: number;
}

// Past this many buffered bytes a direction stops reading (TCP backpressure reaches the sender).
const HIGH_WATER = 1 << 20;

export class FlakyProxy {
  port = 0;
  /** Added to every chunk, each direction (500 ms ≈ a bad satellite or 2G link). */
  latencyMs = 0;
  /** Bandwidth of each direction (0: unlimited); data trickles in 50 ms slices, so a slow transfer is never silent. */
  rateBytesPerSec = 0;
  readonly bytes: ProxyBytes = { up: 0, down: 0 };
  /** Connections accepted since start (a reconnect shows here). */
  accepted = 0;
  /** Connections this proxy cut (cutAfter) or reset (refuse). */
  cuts = 0;
  #server: Server | null = null;
  #outage: Outage | null = null;
  #stalledUntil = 0;
  #stallTimer: NodeJS.Timeout | null = null;
  #cut: { direction: Direction | 'any'; remaining: number } | null = null;
  readonly #pipes = new Set<Pipe>();
  readonly #sockets = new Set<Socket>();

  constructor(readonly target: { host: string; port: number }) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    const server = createServer({ pauseOnConnect: true }, (client) => this.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port || this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    for (const s of this.#sockets) s.destroy();
    for (const p of this.#pipes) if (p.timer) clearTimeout(p.timer);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  resetBytes(): void {
    this.bytes.up = 0;
    this.bytes.down = 0;
  }

  /** Stop forwarding (connections stay open, data waits) for `ms`, or until resume(). */
  stall(ms = Number.POSITIVE_INFINITY): void {
    this.#stalledUntil = Date.now() + ms;
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    this.#stallTimer = Number.isFinite(ms) ? setTimeout(() => this.resume(), ms) : null;
  }

  resume(): void {
    this.#stalledUntil = 0;
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    this.#stallTimer = null;
    for (const p of this.#pipes) this.#pump(p);
  }

  get stalled(): boolean {
    return Date.now() < this.#stalledUntil;
  }

  /** After `bytes` more bytes forwarded (in `direction`, or either), destroy both sides of that connection; fires once. */
  cutAfter(bytes: number, direction: Direction | 'any' = 'any'): void {
    this.#cut = { direction, remaining: bytes };
  }

  get cutArmed(): boolean {
    return this.#cut !== null;
  }

  /** A full outage: every live connection dies (refuse) or goes silent (blackhole); new ones are reset or never answered. */
  outage(kind: Outage): void {
    this.#outage = kind;
    // Live connections are destroyed, not reset: on Node 20 resetAndDestroy() on a
    // connection with traffic in flight left a libuv handle spinning a core and
    // the process never exiting. New connections are still reset (#accept).
    if (kind === 'refuse') for (const s of this.#sockets) s.destroy();
    else {
      // blackhole: nothing moves on these connections any more, and nothing closes them
      for (const p of this.#pipes) {
        p.src.pause();
        if (p.timer) clearTimeout(p.timer);
        this.#pipes.delete(p);
      }
    }
  }

  /** The link is back. Black-holed connections stay dead (their peers must time them out). */
  restore(): void {
    this.#outage = null;
  }

  get outageKind(): Outage | null {
    return this.#outage;
  }

  #accept(client: Socket): void {
    this.accepted++;
    this.#sockets.add(client);
    client.on('close', () => this.#sockets.delete(client));
    client.on('error', () => undefined);
    if (this.#outage === 'refuse') {
      this.cuts++;
      client.resetAndDestroy();
      return;
    }
    if (this.#outage === 'blackhole') return; // accepted, paused, never answered
    const upstream = connect(this.target);
    this.#sockets.add(upstream);
    upstream.on('close', () => this.#sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.once('connect', () => {
      if (this.#outage !== null) return;
      const up = this.#pipe(client, upstream, 'up');
      const down = this.#pipe(upstream, client, 'down');
      const closeBoth = () => {
        for (const p of [up, down]) {
          if (p.timer) clearTimeout(p.timer);
          this.#pipes.delete(p);
        }
      };
      client.once('close', () => { closeBoth(); upstream.destroy(); });
      upstream.once('close', () => { closeBoth(); client.destroy(); });
      client.resume();
    });
  }

  #pipe(src: Socket, dst: Socket, dir: Direction): Pipe {
    const p: Pipe = { src, dst, dir, queue: [], queued: 0, timer: null, sendableAt: 0 };
    this.#pipes.add(p);
    src.on('data', (chunk: Buffer) => {
      if (this.#outage === 'blackhole') return; // dropped on the floor
      p.queue.push({ due: Date.now() + this.latencyMs, chunk });
      p.queued += chunk.length;
      if (p.queued > HIGH_WATER) src.pause();
      this.#pump(p);
    });
    src.on('end', () => p.queue.push({ due: Date.now() + this.latencyMs, chunk: Buffer.alloc(0) }));
    return p;
  }

  // Delivers a pipe's due chunks in order; re-arms a timer for the next one.
  #pump(p: Pipe): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = null;
    if (!this.#pipes.has(p) || this.#outage === 'blackhole') return;
    const now = Date.now();
    if (now < this.#stalledUntil) return; // resume() pumps again
    while (p.queue.length > 0 && p.queue[0]!.due <= now) {
      if (this.rateBytesPerSec > 0 && now < p.sendableAt) break;
      const head = p.queue.shift()!;
      let { chunk } = head;
      if (this.rateBytesPerSec > 0) {
        const slice = Math.max(1, Math.floor(this.rateBytesPerSec / 20));
        if (chunk.length > slice) {
          p.queue.unshift({ due: head.due, chunk: chunk.subarray(slice) });
          chunk = chunk.subarray(0, slice);
        }
        p.sendableAt = now + (chunk.length * 1000) / this.rateBytesPerSec;
      }
      p.queued -= chunk.length;
      if (chunk.length === 0) { p.dst.end(); continue; }
      const cut = this.#cut;
      const counts = cut !== null && (cut.direction === 'any' || cut.direction === p.dir);
      if (counts && chunk.length >= cut.remaining) {
        chunk = chunk.subarray(0, cut.remaining);
        this.#cut = null;
        this.cuts++;
        this.bytes[p.dir] += chunk.length;
        p.dst.write(chunk, () => { p.src.destroy(); p.dst.destroy(); });
        return;
      }
      if (counts) cut.remaining -= chunk.length;
      this.bytes[p.dir] += chunk.length;
      p.dst.write(chunk);
    }
    if (p.queued <= HIGH_WATER && p.src.isPaused() && this.#outage === null) p.src.resume();
    const next = p.queue.length > 0 ? Math.max(p.queue[0]!.due, this.rateBytesPerSec > 0 ? p.sendableAt : 0) : null;
    if (next !== null) p.timer = setTimeout(() => this.#pump(p), Math.max(0, next - Date.now()));
  }
}
