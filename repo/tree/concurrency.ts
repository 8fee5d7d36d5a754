// Runs fn over items in batches and yields to the event loop between
// batches. The tree's file calls are synchronous (see tree-fs.ts); batching
// keeps any one stretch of blocking short (a batch of small files is well
// under a few milliseconds), so a hub or agent reading a big tree still
// answers its sockets and timers.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

export async function mapLimit<T, R>(items: readonly T[], batch: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += batch) {
    out.push(...(await Promise.all(items.slice(i, i + batch).map(fn))));
    if (i + batch < items.length) await yieldToEventLoop();
  }
  return out;
}

export const IO_PARALLELISM = 32;
