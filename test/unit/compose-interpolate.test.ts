// Compose interpolation (repo/compose/interpolate.ts) and .env parsing: every
// operator of the Compose spec, `$$`, and the one deliberate difference (an
// unset variable without default is an error, not an empty string).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolate, interpolateString } from '../../repo/compose/interpolate.ts';
import { parseEnvFile } from '../../repo/compose/dotenv.ts';

const vars: Record<string, string> = { SET: 'v', EMPTY: '', NUM: '3' };
const lookup = (name: string) => vars[name];
function run(text: string): { out: string; problems: string[] } {
  const problems: string[] = [];
  const out = interpolateString(text, lookup, (kind, message) => problems.push(`${kind}: ${message}`));
  return { out, problems };
}

const cases: [string, string][] = [
  ['${SET}', 'v'],
  ['$SET-x', 'v-x'],
  ['a${NUM}b', 'a3b'],
  ['${UNSET:-d}', 'd'],
  ['${EMPTY:-d}', 'd'],
  ['${EMPTY-d}', ''],
  ['${UNSET-d}', 'd'],
  ['${SET:-d}', 'v'],
  ['${SET:+alt}', 'alt'],
  ['${EMPTY:+alt}', ''],
  ['${EMPTY+alt}', 'alt'],
  ['${UNSET+alt}', ''],
  ['${UNSET:-${SET}x}', 'vx'],
  ['$$', '$'],
  ['$${SET}', '${SET}'],
  ['cost: $$5', 'cost: $5'],
  ['${SET:?must}', 'v'],
];
for (const [input, want] of cases) {
  test(`interpolates ${input}`, () => {
    assert.deepEqual(run(input), { out: want, problems: [] });
  });
}

test('an unset variable without default is an error naming it (Compose would insert "")', () => {
  assert.match(run('${NOPE}').problems[0]!, /^unresolved: \$\{NOPE\} is not set/);
  assert.match(run('$NOPE').problems[0]!, /^unresolved: \$NOPE is not set/);
});

test('required variables fail with their message', () => {
  assert.deepEqual(run('${EMPTY:?set EMPTY please}').problems, ['required: ${EMPTY} is required: set EMPTY please']);
  assert.deepEqual(run('${EMPTY?x}').problems, []);
  assert.deepEqual(run('${UNSET?gone}').problems, ['required: ${UNSET} is required: gone']);
});

test('malformed references are errors, not left as text', () => {
  assert.match(run('${SET').problems[0]!, /^malformed: .*without a closing/);
  assert.match(run('${1X}').problems[0]!, /^malformed: .*not a variable reference/);
  assert.match(run('a $ b').problems[0]!, /^malformed: .*write \$\$/);
});

test('values are interpolated, keys and x- extensions are not', () => {
  const problems: never[] = [];
  const doc = { 'x-anchors': { a: '${NOPE}' }, services: { web: { environment: { '${SET}': '${SET}' }, 'x-note': '${NOPE}' } } };
  assert.deepEqual(interpolate(doc, lookup, problems), { services: { web: { environment: { '${SET}': 'v' } } } });
  assert.deepEqual(problems, []);
});

test('.env files: comments, export, quotes, inline comments, bare keys', () => {
  const parsed = parseEnvFile(`# c\n\nA=1\nexport B = two \nC="x\\ny"\nD='lit $X'\nE=v # note\nF\n9BAD=1\n`);
  assert.deepEqual(parsed.entries.map((e) => [e.key, e.value]), [['A', '1'], ['B', 'two'], ['C', 'x\ny'], ['D', 'lit $X'], ['E', 'v'], ['F', undefined]]);
  assert.equal(parsed.problems.length, 1);
  assert.equal(parsed.problems[0]!.line, 9);
});

test('interpolation is bounded per value and per host', async () => {
  const { ExpansionBudget } = await import('../../repo/tree/variables.ts');
  const big = 'x'.repeat(600 * 1024);
  const problems: string[] = [];
  interpolateString('${B}${B}', (n) => (n === 'B' ? big : undefined), (kind) => problems.push(kind));
  assert.deepEqual(problems, ['too-large'], 'one value over 1 MiB');
  const budget = new ExpansionBudget(1000);
  const perHost: string[] = [];
  for (let i = 0; i < 3; i++) interpolateString('${B}', () => 'y'.repeat(400), (kind) => perHost.push(kind), budget);
  assert.deepEqual(perHost, ['too-large'], 'the third value goes over the host budget');
});
