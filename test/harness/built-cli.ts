// What tests that run the built CLI (bin/gitfleet.mjs → dist/gitfleet.mjs) as
// processes share: where the project is, whether the bundle is built, and a
// bounded poll for what those processes do.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const projectDir = resolve(import.meta.dirname, '../..');

/** null when the bundle the CLI runs is built, else why not (for requireComponent). */
export function bundleMissing(): string | null {
  return existsSync(join(projectDir, 'dist', 'gitfleet.mjs')) ? null : `${projectDir}/dist/gitfleet.mjs is not built (npm run build)`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it returns a value (not undefined); bounded by `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}
