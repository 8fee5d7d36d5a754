// ${name} substitution as a table: plain replacement, escapes, and what is
// reported instead of guessed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SubstitutionProblem } from '../../repo/tree/variables.ts';
import { hasReference, substitute, substituteString } from '../../repo/tree/variables.ts';

const vars: Record<string, string> = { host: 'web-01', port: '8080', empty: '', evil: '$(rm -rf /) ${port} `id`' };
const lookup = (n: string) => vars[n];

function run(input: string) {
  const problems: string[] = [];
  const out = substituteString(input, lookup, (kind, text) => problems.push(`${kind}:${text}`));
  return { out, problems };
}

test('substitution table', () => {
  const table: [string, string, string[]][] = [
    ['plain', 'plain', []],
    ['${host}', 'web-01', []],
    ['http://${host}:${port}/', 'http://web-01:8080/', []],
    ['a${empty}b', 'ab', []],
    ['$${host}', '${host}', []],
    // Leftmost first: a lone $, then the escape.
    ['$$${host}', '$${host}', []],
    ['$HOME $$ $ {x} $', '$HOME $$ $ {x} $', []],
    ['${missing}', '${missing}', ['unresolved:missing']],
    ['${ host }', '${ host }', ['malformed:${ host }']],
    ['${host', '${host', ['malformed:${host']],
    ['${a-b}', '${a-b}', ['malformed:${a-b}']],
    // A value is inserted as text and never substituted again or run.
    ['${evil}', '$(rm -rf /) ${port} `id`', []],
  ];
  for (const [input, out, problems] of table) assert.deepEqual(run(input), { out, problems }, input);
});

test('substitute walks values, not keys, and reports the path of each problem', () => {
  const problems: SubstitutionProblem[] = [];
  const value = substitute({ '${host}': 'k', list: ['${port}', 3, true, null, { deep: '${nope}' }] }, lookup, problems);
  assert.deepEqual(value, { '${host}': 'k', list: ['8080', 3, true, null, { deep: '${nope}' }] });
  assert.deepEqual(problems, [{ path: ['list', 4, 'deep'], kind: 'unresolved', text: 'nope' }]);
});

test('hasReference finds ${ anywhere in a value', () => {
  assert.equal(hasReference({ a: [1, { b: 'x${y}' }] }), true);
  assert.equal(hasReference({ a: [1, { b: '$y {z}' }] }), false);
  assert.equal(hasReference(null), false);
});
