// Waiting for what a test asserts instead of pausing a fixed time: a loaded CI
// machine runs timers, pipes and child processes late, so a fixed pause followed
// by "it happened" fails there. The deadline still ends in an error naming what
// did not happen.

/** Polls `probe` every 25 ms until it returns a truthy value (returned), or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
