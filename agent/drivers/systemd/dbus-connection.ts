// A connection to the D-Bus system bus: connect to its socket, authenticate
// as this process's user (EXTERNAL: the bus reads our uid from the socket),
// say Hello, make method calls. No signals, no file descriptors, nothing
// exported. Every message the bus sends is bounded; calls made in the same
// tick go out in one write. The connection stays open between uses (opening
// one costs more than the calls of a look) without keeping the process alive;
// its user bounds each use in time with close().
import { connect, type Socket } from 'node:net';
import { BusWireError, decodeMessage, encodeMethodCall, messageLength, MESSAGE_TYPE, type BusValue, type CallArgument } from './dbus-wire.ts';

export const SYSTEM_BUS_SOCKET = '/run/dbus/system_bus_socket';
/** Far above any reply systemd sends for unit properties; a message past it ends the connection. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_AUTH_LINE_BYTES = 1024;

/** The bus cannot be reached, refused us, or broke the protocol: the caller asks another way. */
export class BusUnavailableError extends Error {}

/** The bus or the service answered a call with an error (org.freedesktop.DBus.Error.UnknownProperty, …). */
export class BusCallError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(`${errorName}: ${message}`);
  }
}

interface Pending {
  resolve: (body: BusValue[]) => void;
  reject: (error: Error) => void;
}

export class BusConnection {
  private serial = 0;
  private readonly pending = new Map<number, Pending>();
  private inbox: Buffer = Buffer.alloc(0);
  private failure: Error | null = null;
  private corked = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.fail(new BusUnavailableError(`the system bus connection failed: ${error.message}`)));
    socket.on('close', () => this.fail(new BusUnavailableError('the system bus closed the connection')));
  }

  /** Connects, authenticates and says Hello within timeoutMs; rejects with BusUnavailableError when any of that fails. */
  static async open(socketPath: string, timeoutMs: number): Promise<BusConnection> {
    const socket = connect(socketPath);
    const expired = new BusUnavailableError(`the system bus did not answer within ${timeoutMs} ms`);
    let bus: BusConnection | null = null;
    const deadline = setTimeout(() => (bus ? bus.close(expired) : socket.destroy(expired)), timeoutMs);
    try {
      await authenticate(socket);
      bus = new BusConnection(socket);
      await bus.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello');
    } catch (error) {
      socket.destroy();
      throw error instanceof BusUnavailableError ? error : new BusUnavailableError(`cannot reach the system bus at ${socketPath}: ${(error as Error).message}`);
    } finally {
      clearTimeout(deadline);
    }
    socket.unref();
    return bus;
  }

  /** False once the connection failed or was closed: open another. */
  get usable(): boolean {
    return this.failure === null;
  }

  /** One method call; resolves with the reply's values. */
  call(destination: string, path: string, iface: string, member: string, args: CallArgument[] = []): Promise<BusValue[]> {
    if (this.failure) return Promise.reject(this.failure);
    const serial = ++this.serial;
    return new Promise<BusValue[]>((resolve, reject) => {
      this.pending.set(serial, { resolve, reject });
      if (!this.corked) {
        // Calls made in this tick (a look asks for many properties at once) leave in one write.
        this.corked = true;
        this.socket.cork();
        process.nextTick(() => {
          this.corked = false;
          this.socket.uncork();
        });
      }
      this.socket.write(encodeMethodCall({ serial, destination, path, interface: iface, member, args }));
    });
  }

  /** Ends the connection; calls still waiting fail with `reason`. */
  close(reason: Error = new BusUnavailableError('the connection was closed')): void {
    this.fail(reason);
  }

  private fail(error: Error): void {
    if (!this.failure) this.failure = error;
    this.socket.destroy();
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  private receive(chunk: Buffer): void {
    this.inbox = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk]);
    try {
      for (;;) {
        const length = messageLength(this.inbox);
        if (length === null) return;
        if (length > MAX_MESSAGE_BYTES) throw new BusWireError(`the bus sent a message of ${length} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
        if (this.inbox.length < length) return;
        const message = decodeMessage(this.inbox.subarray(0, length));
        this.inbox = this.inbox.subarray(length);
        // Signals (NameAcquired after Hello) and anything else unasked are not ours to answer.
        if (message.replySerial === null) continue;
        const waiting = this.pending.get(message.replySerial);
        if (!waiting) continue;
        this.pending.delete(message.replySerial);
        if (message.type === MESSAGE_TYPE.error) waiting.reject(new BusCallError(message.errorName ?? 'org.freedesktop.DBus.Error.Failed', typeof message.body[0] === 'string' ? message.body[0] : '(no message)'));
        else if (message.type === MESSAGE_TYPE.methodReturn) waiting.resolve(message.body);
      }
    } catch (error) {
      this.fail(new BusUnavailableError(`the system bus sent a malformed message: ${(error as Error).message}`));
    }
  }
}

/**
 * The SASL exchange before any message: a NUL byte, AUTH EXTERNAL with our
 * uid in hex, the bus's OK, then BEGIN. Resolves once BEGIN is written.
 */
function authenticate(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    let line = '';
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the bus closed the connection during authentication'));
    };
    const onData = (chunk: Buffer) => {
      line += chunk.toString('latin1');
      if (line.length > MAX_AUTH_LINE_BYTES) return onError(new Error('the bus sent an overlong authentication line'));
      const end = line.indexOf('\r\n');
      if (end < 0) return;
      cleanup();
      if (end + 2 !== line.length) return reject(new Error('the bus sent data before BEGIN'));
      if (!line.startsWith('OK ')) return reject(new BusUnavailableError(`the system bus refused authentication: ${line.slice(0, end)}`));
      socket.write('BEGIN\r\n');
      resolve();
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    const uid = String(process.getuid?.() ?? 0);
    socket.write(`\0AUTH EXTERNAL ${Buffer.from(uid, 'ascii').toString('hex')}\r\n`);
  });
}
