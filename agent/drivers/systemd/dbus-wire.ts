// The D-Bus wire format, as much of it as asking systemd for unit state takes:
// method calls whose arguments are strings and string arrays, and a reader for
// any reply signature (basic types, arrays, dictionaries, structs, variants),
// in either byte order. Pure functions over buffers; the socket is
// dbus-connection.ts.

/** A decoded D-Bus value: integers of 64 bits as bigint, a variant as its signature and value, a dictionary as [key, value] pairs. */
export type BusValue = string | number | bigint | boolean | BusValue[] | BusVariant;
export interface BusVariant {
  signature: string;
  value: BusValue;
}

export const MESSAGE_TYPE = { methodCall: 1, methodReturn: 2, error: 3, signal: 4 } as const;
const HEADER_FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;
/** Containers may nest 32 deep each (the specification's limit); a reply deeper than that is malformed. */
const MAX_DEPTH = 64;
const FIXED_HEADER_BYTES = 16;

export class BusWireError extends Error {}

/** A string argument ('s') or an array of strings ('as'): all gitfleet's calls need. */
export type CallArgument = string | string[];

export interface MethodCall {
  serial: number;
  destination: string;
  path: string;
  interface: string;
  member: string;
  args?: CallArgument[];
}

/** Writes every byte it hands out (padding as zeros), so its buffer need not start zeroed. */
class Writer {
  private buf = Buffer.allocUnsafe(256);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }
  align(n: number): void {
    while (this.length % n !== 0) this.byte(0);
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }
  u32(v: number): void {
    this.align(4);
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at);
  }
  private bytes(text: string, byteLength: number): void {
    this.ensure(byteLength + 1);
    this.length += this.buf.write(text, this.length, 'utf8');
    this.buf[this.length++] = 0;
  }
  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.u32(n);
    this.bytes(s, n);
  }
  signature(s: string): void {
    this.byte(s.length);
    this.bytes(s, s.length);
  }
  stringArray(items: string[]): void {
    this.u32(0);
    const lengthAt = this.length - 4;
    const start = this.length; // strings align to 4, which the length already is
    for (const s of items) this.string(s);
    this.patchU32(lengthAt, this.length - start);
  }
  done(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function signatureOf(args: CallArgument[]): string {
  return args.map((a) => (typeof a === 'string' ? 's' : 'as')).join('');
}

/** One method call message, little-endian, ready to write to the bus. */
export function encodeMethodCall(call: MethodCall): Buffer {
  const args = call.args ?? [];
  // One buffer: the header is padded to 8, so the body's alignment counts from the message's start as well.
  const w = new Writer();
  w.byte(0x6c); // 'l': little-endian
  w.byte(MESSAGE_TYPE.methodCall);
  w.byte(0); // flags
  w.byte(1); // protocol version
  w.u32(0); // the body's byte length, patched below
  w.u32(call.serial);
  w.u32(0); // the header fields' byte length, patched below
  const fieldsStart = w.length; // 16: already 8-aligned
  const field = (code: number, type: string, write: () => void) => {
    w.align(8);
    w.byte(code);
    w.signature(type);
    write();
  };
  field(HEADER_FIELD.path, 'o', () => w.string(call.path));
  field(HEADER_FIELD.destination, 's', () => w.string(call.destination));
  field(HEADER_FIELD.interface, 's', () => w.string(call.interface));
  field(HEADER_FIELD.member, 's', () => w.string(call.member));
  if (args.length > 0) field(HEADER_FIELD.signature, 'g', () => w.signature(signatureOf(args)));
  w.patchU32(12, w.length - fieldsStart);
  w.align(8);
  const bodyStart = w.length;
  for (const a of args) {
    if (typeof a === 'string') w.string(a);
    else w.stringArray(a);
  }
  w.patchU32(4, w.length - bodyStart);
  return w.done();
}

/** The byte length of the complete message at the start of `buf`, or null while its fixed header is not all there. */
export function messageLength(buf: Buffer): number | null {
  if (buf.length < FIXED_HEADER_BYTES) return null;
  const le = byteOrder(buf);
  const bodyLength = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLength = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  return pad8(FIXED_HEADER_BYTES + fieldsLength) + bodyLength;
}

function byteOrder(buf: Buffer): boolean {
  if (buf[0] === 0x6c) return true; // 'l'
  if (buf[0] === 0x42) return false; // 'B'
  throw new BusWireError(`not a D-Bus message (byte order mark 0x${(buf[0] ?? 0).toString(16)})`);
}

function pad8(n: number): number {
  return n + ((8 - (n % 8)) % 8);
}

const ALIGNMENT: Record<string, number> = { y: 1, g: 1, v: 1, n: 2, q: 2, b: 4, i: 4, u: 4, h: 4, s: 4, o: 4, a: 4, x: 8, t: 8, d: 8, '(': 8, '{': 8 };

/** The index just past the single complete type that starts at `i` of `sig`. */
function completeTypeEnd(sig: string, i: number): number {
  const c = sig[i];
  if (c === undefined) throw new BusWireError(`signature "${sig}" ends inside a type`);
  if (c === 'a') return completeTypeEnd(sig, i + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    let j = i + 1;
    while (sig[j] !== close) {
      if (j >= sig.length) throw new BusWireError(`signature "${sig}" has an unclosed ${c}`);
      j = completeTypeEnd(sig, j);
    }
    return j + 1;
  }
  if (!(c in ALIGNMENT)) throw new BusWireError(`signature "${sig}" has an unknown type code "${c}"`);
  return i + 1;
}

/** Reads values from a whole message buffer; offsets (and so alignment) count from the message's first byte. */
class Reader {
  pos: number;
  constructor(
    private readonly buf: Buffer,
    private readonly le: boolean,
    pos: number,
  ) {
    this.pos = pos;
  }

  private align(n: number): void {
    this.pos += (n - (this.pos % n)) % n;
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new BusWireError('a value runs past the end of the message');
  }
  /** A fixed-size value, aligned to its size. */
  private fixed<T>(size: number, read: (at: number) => T): T {
    this.align(size);
    this.need(size);
    const v = read(this.pos);
    this.pos += size;
    return v;
  }
  private u32(): number {
    return this.fixed(4, (at) => (this.le ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at)));
  }
  private text(length: number): string {
    this.need(length + 1);
    const s = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length + 1; // and its NUL
    return s;
  }

  /** The values of a whole signature (a message body, or a struct's fields). */
  values(sig: string, depth = 0): BusValue[] {
    const out: BusValue[] = [];
    for (let i = 0; i < sig.length; ) {
      const end = completeTypeEnd(sig, i);
      out.push(this.value(sig.slice(i, end), depth));
      i = end;
    }
    return out;
  }

  /** One value of a single complete type. */
  value(type: string, depth = 0): BusValue {
    if (depth > MAX_DEPTH) throw new BusWireError('values nest too deep');
    const c = type[0]!;
    const b = this.buf;
    switch (c) {
      case 'y':
        this.need(1);
        return b[this.pos++]!;
      case 'b':
        return this.u32() !== 0;
      case 'n':
        return this.fixed(2, (at) => (this.le ? b.readInt16LE(at) : b.readInt16BE(at)));
      case 'q':
        return this.fixed(2, (at) => (this.le ? b.readUInt16LE(at) : b.readUInt16BE(at)));
      case 'i':
        return this.fixed(4, (at) => (this.le ? b.readInt32LE(at) : b.readInt32BE(at)));
      case 'u':
      case 'h':
        return this.u32();
      case 'x':
        return this.fixed(8, (at) => (this.le ? b.readBigInt64LE(at) : b.readBigInt64BE(at)));
      case 't':
        return this.fixed(8, (at) => (this.le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)));
      case 'd':
        return this.fixed(8, (at) => (this.le ? b.readDoubleLE(at) : b.readDoubleBE(at)));
      case 's':
      case 'o':
        return this.text(this.u32());
      case 'g': {
        this.need(1);
        return this.text(b[this.pos++]!);
      }
      case 'v': {
        const signature = this.value('g', depth) as string;
        if (completeTypeEnd(signature, 0) !== signature.length) throw new BusWireError(`a variant's signature "${signature}" is not one complete type`);
        return { signature, value: this.value(signature, depth + 1) };
      }
      case 'a': {
        const length = this.u32();
        const element = type.slice(1);
        this.align(ALIGNMENT[element[0]!]!);
        const end = this.pos + length;
        if (end > b.length) throw new BusWireError('an array runs past the end of the message');
        const items: BusValue[] = [];
        while (this.pos < end) items.push(this.value(element, depth + 1));
        if (this.pos !== end) throw new BusWireError('an array\'s elements overrun its length');
        return items;
      }
      case '(':
      case '{':
        this.align(8);
        return this.values(type.slice(1, -1), depth + 1);
      default:
        throw new BusWireError(`unknown type code "${c}"`);
    }
  }
}

export interface BusMessage {
  type: number;
  serial: number;
  replySerial: number | null;
  errorName: string | null;
  signature: string;
  body: BusValue[];
}

/** Decodes one complete message (its length from messageLength). */
export function decodeMessage(buf: Buffer): BusMessage {
  const le = byteOrder(buf);
  const fixed = new Reader(buf, le, 0);
  const type = buf[1]!;
  fixed.pos = 8;
  const serial = fixed.value('u') as number;
  const fieldsReader = new Reader(buf, le, 12);
  const fields = fieldsReader.value('a(yv)') as [number, BusVariant][];
  const headerEnd = pad8(fieldsReader.pos);
  let replySerial: number | null = null;
  let errorName: string | null = null;
  let signature = '';
  for (const [code, variant] of fields) {
    if (code === HEADER_FIELD.replySerial) replySerial = variant.value as number;
    else if (code === HEADER_FIELD.errorName) errorName = variant.value as string;
    else if (code === HEADER_FIELD.signature) signature = variant.value as string;
  }
  const bodyReader = new Reader(buf, le, headerEnd);
  const body = bodyReader.values(signature);
  if (bodyReader.pos !== buf.length) throw new BusWireError(`the body is ${buf.length - headerEnd} bytes, its values ${bodyReader.pos - headerEnd}`);
  return { type, serial, replySerial, errorName, signature, body };
}
