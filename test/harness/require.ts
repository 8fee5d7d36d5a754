// "No silent skips in CI": a test that needs a real component it cannot find
// fails when CI=true, and elsewhere skips with the reason printed.
import type { TestContext } from 'node:test';

export const inCI = process.env.CI === 'true';

/**
 * Returns true when the component is there. Otherwise: in CI throws (the test
 * fails, naming what is missing); elsewhere marks the test skipped with the
 * reason and returns false, so the caller returns early.
 */
export function requireComponent(t: TestContext, name: string, missingReason: string | null): boolean {
  if (missingReason === null) return true;
  const message = `${name} is not available: ${missingReason} (run: bash test/env/provision.sh)`;
  if (inCI) throw new Error(`${message} — CI must provision it`);
  process.stderr.write(`# SKIP ${t.name}: ${message}\n`);
  t.skip(message);
  return false;
}
