// A long-lived subscription to the engine's container events that survives
// daemon restarts: on a lost stream it reports the outage, retries with a
// bounded backoff and, once back, says so and resumes from the last event it saw (the
// engine replays from `since`), dropping the replayed duplicates.
import type Dockerode from 'dockerode';
import { GitfleetError } from '../../../shared/errors.ts';
import type { ContainerEvent } from '../types.ts';
import { translateEngineError } from './engine-errors.ts';
import { eventImage, parseEngineEvent } from './event-parse.ts';
import { NdjsonSplitter } from './ndjson.ts';

export interface WatchOptions {
  docker: Dockerode;
  socketPath: string;
  onEvent: (event: ContainerEvent) => void;
  /** Rewrites each event before delivery (given the image attribute); events are still delivered in order. */
  transform?: (event: ContainerEvent, image: string | undefined) => Promise<ContainerEvent>;
  onError: (error: Error) => void;
  /** Each time the stream is established, the first time included. */
  onConnect: () => void;
  /** First retry delay; doubles up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export function watchContainerEvents(options: WatchOptions): () => void {
  const { docker, socketPath } = options;
  const minBackoff = options.minBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  let stopped = false;
  let backoff = minBackoff;
  let timer: NodeJS.Timeout | undefined;
  let stream: NodeJS.ReadableStream & { destroy?: () => void } | undefined;
  let abort: AbortController | undefined;
  let lastSeconds: number | undefined;
  const recent: string[] = [];
  // Transformed events wait for each other, so they arrive in the engine's order.
  let pending: Promise<void> = Promise.resolve();

  const report = (error: Error) => {
    try {
      options.onError(error);
    } catch {
      // a throwing error handler must not kill the reconnect loop
    }
  };

  const retry = () => {
    if (stopped) return;
    timer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, maxBackoff);
  };

  const deliver = (raw: unknown) => {
    const event = parseEngineEvent(raw);
    if (!event || stopped) return;
    const key = `${String((raw as { timeNano?: unknown }).timeNano)}/${event.id}/${String((raw as { Action?: unknown }).Action)}`;
    if (recent.includes(key)) return;
    recent.push(key);
    if (recent.length > 256) recent.shift();
    if (event.time !== undefined) lastSeconds = Math.floor(event.time / 1000);
    const emit = (ready: ContainerEvent) => {
      if (stopped) return;
      try {
        options.onEvent(ready);
      } catch (error) {
        report(new GitfleetError('INTERNAL', `container event handler failed: ${String(error)}`, { cause: error }));
      }
    };
    const transform = options.transform;
    if (!transform) return emit(event);
    const image = eventImage(raw);
    pending = pending.then(() => transform(event, image).catch(() => event)).then(emit);
  };

  function connect(): void {
    if (stopped) return;
    abort = new AbortController();
    const opts: Record<string, unknown> = { filters: JSON.stringify({ type: ['container'] }), abortSignal: abort.signal };
    if (lastSeconds !== undefined) opts.since = String(lastSeconds);
    docker.getEvents(opts).then(
      (s) => {
        if (stopped) {
          (s as { destroy?: () => void }).destroy?.();
          return;
        }
        stream = s as typeof stream;
        backoff = minBackoff;
        try {
          options.onConnect();
        } catch (error) {
          report(new GitfleetError('INTERNAL', `connect handler failed: ${String(error)}`, { cause: error }));
        }
        const splitter = new NdjsonSplitter(deliver, (line) => {
          report(new GitfleetError('DOCKER_FAILED', `unparsable Docker event skipped: ${line.slice(0, 200)}`));
        });
        let ended = false;
        const lost = (why: string) => {
          if (ended) return;
          ended = true;
          splitter.end();
          if (stopped) return;
          report(new GitfleetError('DOCKER_UNAVAILABLE', `the Docker event stream from ${socketPath} ended (${why}); reconnecting`));
          retry();
        };
        s.on('data', (chunk: Buffer) => splitter.push(chunk));
        s.on('end', () => lost('closed by the daemon'));
        s.on('close', () => lost('connection closed'));
        s.on('error', (error: Error) => lost(error.message));
      },
      (error: unknown) => {
        if (stopped) return;
        report(translateEngineError(error, 'subscribe to Docker events', socketPath));
        retry();
      },
    );
  }

  connect();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    abort?.abort();
    stream?.destroy?.();
  };
}
