// The last lines of a container's log (stdout and stderr) for a failure
// report. The engine answers `GET /containers/{id}/logs?tail=N` with the raw
// stream for a TTY container, else with its multiplexed form: frames of an
// 8-byte header (stream 1|2, three zero bytes, big-endian length) and a
// payload. What comes back is cut to MAX_BYTES before it is split.
import type Dockerode from 'dockerode';
import { statusOf, translateEngineError } from './engine-errors.ts';

/** Log bytes read at most (the tail the engine sends can hold arbitrarily long lines). */
const MAX_BYTES = 64 * 1024;

/** Payloads of a multiplexed log stream; null when `buf` is not one (a TTY container's raw stream). */
export function demultiplex(buf: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 8 > buf.length) return null;
    const stream = buf[at]!;
    if (stream > 2 || buf[at + 1] !== 0 || buf[at + 2] !== 0 || buf[at + 3] !== 0) return null;
    const size = buf.readUInt32BE(at + 4);
    parts.push(buf.subarray(at + 8, Math.min(buf.length, at + 8 + size)));
    at += 8 + size;
  }
  return Buffer.concat(parts);
}

export async function containerLogs(docker: Dockerode, nameOrId: string, lines: number, socketPath: string): Promise<string[]> {
  let raw: Buffer;
  try {
    const tail = Math.max(1, Math.min(1000, Math.trunc(lines)));
    raw = (await docker.getContainer(nameOrId).logs({ stdout: true, stderr: true, follow: false, tail })) as unknown as Buffer;
  } catch (error) {
    if (statusOf(error) === 404) return [];
    throw translateEngineError(error, `read the log of container ${nameOrId}`, socketPath);
  }
  const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
  const text = (demultiplex(buf) ?? buf).subarray(-MAX_BYTES).toString('utf8');
  return text.split(/\r?\n/).filter((l) => l !== '').slice(-lines);
}
