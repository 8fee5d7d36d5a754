// The Compose project name gitfleet derives (repo/compose/project-name.ts),
// following Compose: an explicit name must already be valid; a directory name
// is normalised (lower case, only [a-z0-9_-], no leading _ or -).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeProjectName, normalizeProjectName, ROOT_PROJECT } from '../../repo/compose/project-name.ts';

test('a directory name is normalised as Compose does', () => {
  assert.equal(normalizeProjectName('shop'), 'shop');
  assert.equal(normalizeProjectName('Web-01.Example.com'), 'web-01examplecom');
  assert.equal(normalizeProjectName('__-my_App'), 'my_app');
  assert.equal(normalizeProjectName('...'), '');
});

test('the project: name: first, else the last part of the first file’s directory, else the fixed root name', () => {
  assert.deepEqual(composeProjectName('shop', 'prod/eu'), { name: 'shop' });
  assert.deepEqual(composeProjectName(undefined, 'prod/eu'), { name: 'eu' });
  assert.deepEqual(composeProjectName(undefined, 'prod/web-01.example.com'), { name: 'web-01examplecom' });
  assert.deepEqual(composeProjectName(undefined, ''), { name: ROOT_PROJECT });
  assert.equal(ROOT_PROJECT, 'gitfleet');
});

test('an explicit name Compose would refuse is refused, not normalised; a directory with no usable character has no name', () => {
  for (const bad of ['Shop', '-shop', 'my shop', '']) assert.match((composeProjectName(bad, 'x') as { problem: string }).problem, /not a valid Compose project name/, bad);
  assert.match((composeProjectName(undefined, 'a/...') as { problem: string }).problem, /gives no Compose project name/);
});
