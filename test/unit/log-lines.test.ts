// Bounds and cleaning of the log lines a failing resource's status carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundLogLines, cleanLogLine, LOG_LIMITS, logLinesWithin } from '../../shared/log-lines.ts';
import { ResourceStatus } from '../../shared/status.ts';

test('escape sequences and control characters are removed, text kept', () => {
  assert.equal(cleanLogLine('\u001b[31mred\u001b[0m \u001b]0;title\u0007ok\tx\r\u0000\u202e!'), 'red ok x!');
});

test('the newest 20 lines within 4 KiB are kept, oldest first; one huge line is cut', () => {
  const many = Array.from({ length: 50 }, (_, i) => `line ${i}`);
  assert.deepEqual(boundLogLines(many), many.slice(-20));
  const wide = Array.from({ length: 20 }, (_, i) => `${i}:${'é'.repeat(400)}`);
  const kept = boundLogLines(wide);
  assert.ok(logLinesWithin(kept));
  assert.equal(kept.at(-1), wide.at(-1), 'the newest line is whole');
  assert.ok(kept.length < 20);
  const huge = boundLogLines(['x'.repeat(100_000)]);
  assert.equal(huge.length, 1);
  assert.equal(huge[0]!.length, LOG_LIMITS.bytes);
});

test('the wire schema refuses more than the bounds', () => {
  const base = { id: 'unit/x.service', sync: 'InSync', health: 'Degraded', diff: [] };
  assert.equal(ResourceStatus.safeParse({ ...base, logs: ['a'], exitCode: 3, signal: 'SIGKILL' }).success, true);
  assert.equal(ResourceStatus.safeParse({ ...base, logs: Array(21).fill('a') }).success, false);
  assert.equal(ResourceStatus.safeParse({ ...base, logs: Array(2).fill('a'.repeat(3000)) }).success, false);
  assert.equal(ResourceStatus.safeParse({ ...base, exitCode: 1.5 }).success, false);
});
