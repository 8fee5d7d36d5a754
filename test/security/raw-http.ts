// HTTP requests for the security tests, sent exactly as written: fetch() would
// normalise the path (dot segments, case of %xx, backslashes) before it leaves,
// which is the very thing these tests must not let happen. Every request can
// come from its own loopback address (127.x.y.z), so per-address throttling
// can be exercised, or kept out of the way, on purpose.
import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Source address on loopback; default 127.0.0.1. */
  localAddress?: string;
}

/** Sends one request on a fresh connection; an event stream is closed as soon as its headers arrive. */
export function rawRequest(port: number, o: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: o.method ?? 'GET',
        path: o.path,
        headers: { ...o.headers, ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}) },
        localAddress: o.localAddress ?? '127.0.0.1',
        agent: false,
      },
      (res) => {
        const done = (body: string) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          res.destroy();
          done('');
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => done(body));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${o.method ?? 'GET'} ${o.path} within 10 s`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** A distinct loopback source address for each n below 65,536: 127.<base>.<n / 256>.<n % 256> (base >= 1, so never 127.0.0.1). */
export function loopbackAddress(base: number, n: number): string {
  return `127.${base}.${(n >> 8) & 255}.${n & 255}`;
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
