// ${var} expansion is bounded per value and per host, and an overflow is
// reported (never built): the checks run before the text is appended.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SubstitutionProblem } from '../../repo/tree/variables.ts';
import { ExpansionBudget, maxHostChars, maxValueChars, referenceHelp, substitute, substituteString } from '../../repo/tree/variables.ts';

const half = 'x'.repeat(maxValueChars / 2);
const vars: Record<string, string> = { half, one: 'y' };
const lookup = (n: string) => vars[n];

function run(input: string, budget?: ExpansionBudget) {
  const problems: string[] = [];
  const out = substituteString(input, lookup, (kind, text) => problems.push(`${kind}:${text}`), budget);
  return { out, problems };
}

test('a value may grow to exactly the limit, not one character more', () => {
  const exact = run('${half}${half}');
  assert.deepEqual(exact.problems, []);
  assert.equal(exact.out.length, maxValueChars);
  const over = run('${half}${half}${one}');
  assert.deepEqual(over.problems, ['too-large:one']);
  assert.ok(over.out.length <= maxValueChars);
  // Literal text after the last reference counts too.
  assert.deepEqual(run('${half}${half}!').problems, ['too-large:half']);
});

test('the host budget is shared by every value substituted with it', () => {
  const budget = new ExpansionBudget(maxValueChars + 10);
  assert.deepEqual(run('${half}${half}', budget).problems, []);
  assert.equal(budget.remaining, 10);
  assert.deepEqual(run('${one}', budget).problems, []);
  assert.deepEqual(run('${half}', budget).problems, ['host-total:half']);
  // Text without references costs nothing.
  assert.deepEqual(run('plain text', budget).problems, []);
  assert.equal(new ExpansionBudget().remaining, maxHostChars);
});

test('substitute passes one budget through a whole value', () => {
  const problems: SubstitutionProblem[] = [];
  const budget = new ExpansionBudget(maxValueChars);
  substitute({ a: '${half}', b: ['${half}', '${half}'] }, lookup, problems, [], budget);
  assert.deepEqual(problems, [{ path: ['b', 1], kind: 'host-total', text: 'half' }]);
});

test('the messages name the variable and the limit', () => {
  assert.match(referenceHelp('too-large', 'b'), /\$\{b\} makes the value longer than 1 MiB \(1,048,576 characters\)/);
  assert.match(referenceHelp('host-total', 'b'), /over 16 MiB \(16,777,216 characters\) in total/);
});
