// Issue 21, item 1 with a real Docker engine, through the CLI as a user runs
// it: after `agent --once` created a container, a Git change to its image and
// env makes `gitfleet plan` name each changed field (text and --json), not
// only a config-hash difference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gitfleet } from '../helpers/gitfleet-cli.ts';
import { TEST_IMAGE, TEST_IMAGE_2, TEST_LABEL, dockerMissingReason } from '../harness/docker.ts';
import { oneHostFleet } from '../harness/one-host-fleet.ts';
import { requireComponent } from '../harness/require.ts';

const { docker, hostArgs: common, writeContainers } = oneHostFleet('plan-fields');
const name = docker.name('web');

function writeContainer(image: string, env: Record<string, string>): void {
  const envYaml = Object.entries(env).map(([k, v]) => `      ${k}: "${v}"\n`).join('');
  writeContainers(
    `containers:\n  ${name}:\n    image: ${image}\n    command: [sleep, "3600"]\n    init: true\n    network: none\n    stop_grace_period: 1s\n` +
      `    labels:\n      ${TEST_LABEL}: "${docker.runId}"\n${envYaml ? `    env:\n${envYaml}` : ''}`,
  );
}

const env = { GITFLEET_HEALTH_SETTLE: '0s' };

test('plan names the changed fields of a container: image and env, text and --json', async (t) => {
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  writeContainer(TEST_IMAGE, { MODE: 'a' });
  const first = await gitfleet(['agent', '--once', ...common], { env, timeoutMs: 90_000 });
  assert.equal(first.code, 0, first.stdout + first.stderr);

  writeContainer(TEST_IMAGE_2, { MODE: 'b', FOO: 'bar' });
  const text = await gitfleet(['plan', ...common], { env });
  assert.equal(text.code, 2, text.stdout + text.stderr);
  assert.match(text.stdout, new RegExp(`image: - ${TEST_IMAGE}  \\+ ${TEST_IMAGE_2}`));
  assert.match(text.stdout, /env\.FOO: \+ bar \(added\)/);
  assert.match(text.stdout, /env\.MODE: - a {2}\+ b/);
  assert.doesNotMatch(text.stdout, /config-hash/, 'fields, not the hash');
  assert.match(text.stdout, /^Plan: 0 create, 1 change, 0 correct drift, 0 prune$/m);

  const json = await gitfleet(['plan', '--json', ...common], { env });
  assert.equal(json.code, 2, json.stderr);
  const resources = (JSON.parse(json.stdout) as { resources: Array<{ id: string; diff: unknown[] }> }).resources;
  assert.deepEqual(resources.find((r) => r.id === `container/${name}`)?.diff, [
    { field: 'env.FOO', desired: 'bar', live: null },
    { field: 'env.MODE', desired: 'b', live: 'a' },
    { field: 'image', desired: TEST_IMAGE_2, live: TEST_IMAGE },
  ]);

  // Applied: the record follows, and the plan is empty again.
  const second = await gitfleet(['agent', '--once', ...common], { env, timeoutMs: 90_000 });
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.equal((await docker.inspect(name)).Config.Image, TEST_IMAGE_2);
  const nothing = await gitfleet(['plan', ...common], { env });
  assert.equal(nothing.code, 0, nothing.stdout);
});
