// Issue 21, item 5 (progress during the health gate): `agent --once` with a
// real Docker container that becomes healthy a few seconds after it starts.
// Piped, stderr has one line per change of what the gate waits on (not one per
// poll); on a real pseudo-terminal (util-linux `script`) one line rewritten in
// place with the seconds counting, cleared before the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cliEntry, gitfleet, repoRoot } from '../helpers/gitfleet-cli.ts';
import { TEST_IMAGE, TEST_LABEL, dockerMissingReason } from '../harness/docker.ts';
import { oneHostFleet } from '../harness/one-host-fleet.ts';
import { requireComponent } from '../harness/require.ts';

const { docker, hostArgs, writeContainers } = oneHostFleet('health-progress');
const name = docker.name('slow');

/** Healthy about three seconds after it starts; `round` changes the spec, so each round recreates it. */
function writeContainer(round: number): void {
  writeContainers(
    `containers:\n  ${name}:\n    image: ${TEST_IMAGE}\n    command: [sh, -c, "sleep 3; touch /tmp/ready; exec sleep 3600"]\n    init: true\n    network: none\n` +
      `    stop_grace_period: 1s\n    env:\n      ROUND: "${round}"\n` +
      `    healthcheck: { test: [CMD, sh, -c, "[ -f /tmp/ready ]"], interval: 1s, retries: 30 }\n` +
      `    labels:\n      ${TEST_LABEL}: "${docker.runId}"\n`,
  );
}

const args = ['agent', '--once', ...hostArgs];
const env = { GITFLEET_HEALTH_TIMEOUT: '60s', GITFLEET_HEALTH_SETTLE: '1s' };

test('piped: one progress line per change of what the health gate waits on', async (t) => {
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  writeContainer(1);
  const r = await gitfleet(args, { env, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const waits = r.stderr.split('\n').filter((l) => l.startsWith('waiting'));
  assert.match(waits[0] ?? '', new RegExp(`^waiting for container/${name} healthy \\d+s/60s$`));
  assert.equal(waits.filter((l) => l.startsWith('waiting for')).length, 1, `not one line per poll: ${waits.join(' | ')}`);
  assert.match(waits.at(-1) ?? '', /^waiting: everything healthy, watching that it stays so \d+s\/60s$/);
  assert.doesNotMatch(r.stderr, /\r/);
  assert.match(r.stdout, /converged/);
});

test('on a terminal: one line rewritten in place, the seconds counting, cleared before the result', async (t) => {
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  if (!requireComponent(t, 'a pseudo-terminal (script from util-linux)', spawnSync('script', ['--version']).status === 0 ? null : 'script is not installed')) return;
  writeContainer(2);
  const command = [process.execPath, '--import', import.meta.resolve('tsx'), cliEntry, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: repoRoot, env: { ...process.env, ...env, NO_COLOR: '1' }, timeout: 120_000 });
  const out = r.stdout.toString();
  assert.equal(r.status, 0, out);
  const rewrites = [...out.matchAll(new RegExp(`\\r\\u001b\\[Kwaiting for container/${name} healthy (\\d+)s/60s`, 'g'))].map((m) => Number(m[1]));
  assert.ok(rewrites.length >= 2, `rewritten as the seconds count: ${JSON.stringify(out.slice(0, 400))}`);
  assert.ok(rewrites.at(-1)! > rewrites[0]!, 'the elapsed time grows');
  assert.match(out, /\r\u001b\[K[^\n]*converged/, 'the progress line is cleared before the result');
});
