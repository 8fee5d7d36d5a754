// The hub's Server-Sent Events stream, read with fetch() rather than
// EventSource because EventSource cannot send an Authorization header (and a
// token in the URL would end up in access logs). Reconnects with backoff.
import type { ChangeEvent, FleetSummary } from './types.ts';

export interface LiveHandlers {
  summary(s: FleetSummary): void;
  change(c: ChangeEvent): void;
  connected(up: boolean): void;
}

/** Splits an SSE byte stream into events; returns what is left of an unfinished one. */
export function parseSse(buffer: string, emit: (event: string, data: string) => void): string {
  let at: number;
  while ((at = buffer.indexOf('\n\n')) >= 0) {
    const block = buffer.slice(0, at);
    buffer = buffer.slice(at + 2);
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) emit(event, data.join('\n'));
  }
  return buffer;
}

/** Opens the stream and keeps it open until the returned function is called. */
export function openLiveStream(token: string, handlers: LiveHandlers): () => void {
  const abort = new AbortController();
  let failures = 0;
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const res = await fetch('/api/v1/events', { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: abort.signal });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer = parseSse(buffer + value.replace(/\r\n/g, '\n'), (event, data) => {
            failures = 0;
            handlers.connected(true);
            if (event === 'summary') handlers.summary(JSON.parse(data) as FleetSummary);
            else if (event === 'change') handlers.change(JSON.parse(data) as ChangeEvent);
          });
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      handlers.connected(false);
      failures++;
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** Math.min(failures, 5))));
    }
  };
  void run();
  return () => abort.abort();
}
