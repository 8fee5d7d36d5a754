// YAML parsing with positions: the path of a value maps back to its line and
// column; aliases are bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYaml } from '../../repo/tree/yaml-source.ts';
import { nearestNames } from '../../repo/tree/nearest.ts';

const text = ['containers:', '  web:', '    image: x', '    ports:', '      - "80:80"', '      - 443', '  db: &db', '    image: y', '  db2: *db', ''].join('\n');

test('locate maps a path to the key or the value', () => {
  const src = parseYaml('r.yaml', text);
  assert.deepEqual(src.issues, []);
  assert.deepEqual(src.locate(['containers', 'web'], 'key'), { line: 2, column: 3 });
  assert.deepEqual(src.locate(['containers', 'web', 'image']), { line: 3, column: 12 });
  assert.deepEqual(src.locate(['containers', 'web', 'ports', 1]), { line: 6, column: 9 });
  // A missing key falls back to the nearest existing ancestor.
  assert.deepEqual(src.locate(['containers', 'web', 'nope', 'deeper']), { line: 3, column: 5 });
  // Through an alias: the anchored node.
  assert.deepEqual(src.locate(['containers', 'db2', 'image']), { line: 8, column: 12 });
});

test('the parsed value expands a few aliases', () => {
  const src = parseYaml('r.yaml', text);
  assert.deepEqual((src.value as { containers: Record<string, unknown> }).containers.db2, { image: 'y' });
});

test('an empty file is null, not an error', () => {
  assert.deepEqual(parseYaml('h.yaml', '').issues, []);
  assert.equal(parseYaml('h.yaml', '# comment only\n').value, null);
});

test('two YAML documents in one file are refused', () => {
  const src = parseYaml('r.yaml', 'a: 1\n---\nb: 2\n');
  assert.deepEqual(src.issues.map((i) => [i.code, i.line]), [['YAML_SYNTAX', 2]]);
});

test('nearestNames: close names first, nothing for unrelated ones', () => {
  assert.deepEqual(nearestNames('web-1', ['web-01', 'web-02', 'database-server']), ['web-01', 'web-02']);
  assert.deepEqual(nearestNames('zzzzzz', ['web-01', 'database-server']), []);
});
