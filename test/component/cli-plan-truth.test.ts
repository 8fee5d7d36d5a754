// Issue 21, item 1: `gitfleet plan` predicts what the agent does — the same
// refusals (invalid head, the empty-state guard, a head refused before and not
// retried), a kind it cannot observe is an error, a summary line — with exit
// codes 0 nothing / 2 changes / 1 refused or error; `agent --once` prints the
// cause of a refusal on stdout and exits 1. Real files under a scratch
// directory (--files-allow), a plain directory as the fleet repo; containers
// are observed through a Docker socket path that does not exist.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitfleet } from '../helpers/gitfleet-cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'gitfleet-plan-truth-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const fleet = join(scratch, 'fleet');
const target = join(scratch, 'target');
const state = join(scratch, 'state');
mkdirSync(join(fleet, 'lab/h1'), { recursive: true });
mkdirSync(target);

function writeFleet(hostYaml: string, resources: string | null): void {
  writeFileSync(join(fleet, 'lab/h1/host.yaml'), hostYaml);
  if (resources === null) rmSync(join(fleet, 'lab/h1/files.yaml'), { force: true });
  else writeFileSync(join(fleet, 'lab/h1/files.yaml'), resources);
}

const twoFiles = `files:\n  ${target}/a.conf:\n    content: "a\\n"\n  ${target}/b.conf:\n    content: "b\\n"\n`;
// No Docker needed: the fleet declares no containers, and the socket is not used for them.
const env = { GITFLEET_DOCKER_SOCKET: join(scratch, 'no-docker.sock') };
const common = ['--repo', fleet, '--host', 'h1', '--state-dir', state, '--files-allow', target];

test('plan → summary line and exit 2; --once applies; plan again → exit 0', async () => {
  writeFleet('{}\n', twoFiles);
  const pending = await gitfleet(['plan', ...common], { env });
  assert.equal(pending.code, 2, pending.stdout + pending.stderr);
  assert.match(pending.stdout, /^Plan: 2 create, 0 change, 0 correct drift, 0 prune$/m);
  const once = await gitfleet(['agent', '--once', ...common], { env });
  assert.equal(once.code, 0, once.stdout + once.stderr);
  assert.match(once.stdout, /converged/);
  const nothing = await gitfleet(['plan', ...common], { env });
  assert.equal(nothing.code, 0, nothing.stdout);
  assert.match(nothing.stdout, /^Plan: 0 create, 0 change, 0 correct drift, 0 prune$/m);
  // A hand change is drift, counted as such.
  writeFileSync(join(target, 'a.conf'), 'changed by hand\n');
  const drift = await gitfleet(['plan', '--json', ...common], { env });
  assert.equal(drift.code, 2);
  assert.deepEqual((JSON.parse(drift.stdout) as { summary: unknown }).summary, { create: 0, change: 0, drift: 1, prune: 0 });
});

test('an invalid head: plan and --once name the cause and exit 1, the host keeps its revision', async () => {
  writeFleet('{}\n', `${twoFiles}  bad: [unclosed\n`);
  const planned = await gitfleet(['plan', ...common], { env });
  assert.equal(planned.code, 1, planned.stdout + planned.stderr);
  assert.match(planned.stdout, /would not be applied/);
  assert.match(planned.stdout, /^Plan: 0 create, 0 change, 0 correct drift, 0 prune; head \S+ refused: .*\[YAML_SYNTAX\]$/m);
  const once = await gitfleet(['agent', '--once', ...common], { env });
  assert.equal(once.code, 1, once.stdout);
  assert.match(once.stdout, /refused/);
  assert.match(once.stdout, /reason: YAML_SYNTAX/);
});

test('the empty-state guard: a head removing every managed resource is refused, and plan says so instead of listing prunes', async () => {
  writeFleet('{}\n', null);
  const planned = await gitfleet(['plan', ...common], { env });
  assert.equal(planned.code, 1, planned.stdout + planned.stderr);
  assert.match(planned.stdout, /EMPTY_STATE_REFUSED/);
  assert.doesNotMatch(planned.stdout, /^\s+- /m, 'no prune step listed');
  const once = await gitfleet(['agent', '--once', ...common], { env });
  assert.equal(once.code, 1, once.stdout);
  assert.match(once.stdout, /EMPTY_STATE_REFUSED/);
  // Refused for its commit under this config: the daemon will not retry it, and plan says that.
  const again = await gitfleet(['plan', ...common], { env });
  assert.equal(again.code, 1);
  assert.match(again.stdout, /not retried until the head or the agent configuration changes/);
  // allowEmpty: the prunes are the plan.
  writeFleet('allowEmpty: true\n', null);
  const prune = await gitfleet(['plan', ...common], { env });
  assert.equal(prune.code, 2, prune.stdout);
  assert.match(prune.stdout, /^Plan: 0 create, 0 change, 0 correct drift, 2 prune$/m);
});

test('a kind that cannot be observed makes the plan an error (exit 1), not "no changes"', async () => {
  const fleet2 = join(scratch, 'fleet2');
  mkdirSync(join(fleet2, 'lab/h2'), { recursive: true });
  writeFileSync(join(fleet2, 'lab/h2/host.yaml'), '{}\n');
  writeFileSync(join(fleet2, 'lab/h2/app.yaml'), 'containers:\n  app:\n    image: busybox:1\n');
  const r = await gitfleet(['plan', '--repo', fleet2, '--host', 'h2', '--state-dir', join(scratch, 'state2')], { env });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /cannot observe containers/);
  assert.match(r.stdout, /^Plan: .*; incomplete: cannot observe containers$/m);
});

test('later passes: a resource waiting for its dependency is in the plan and the summary', async () => {
  const fleet3 = join(scratch, 'fleet3');
  const out = join(scratch, 'target3');
  mkdirSync(join(fleet3, 'lab/h3'), { recursive: true });
  mkdirSync(out);
  writeFileSync(join(fleet3, 'lab/h3/host.yaml'), '{}\n');
  writeFileSync(join(fleet3, 'lab/h3/files.yaml'), `files:\n  ${out}/a.conf:\n    content: "a\\n"\n  ${out}/b.conf:\n    content: "b\\n"\n    depends_on: [file/${out}/a.conf]\n`);
  const args = ['--repo', fleet3, '--host', 'h3', '--state-dir', join(scratch, 'state3'), '--files-allow', out];
  const planned = await gitfleet(['plan', ...args], { env });
  assert.equal(planned.code, 2, planned.stdout + planned.stderr);
  assert.match(planned.stdout, /^1 step\(s\) in the first pass/m);
  assert.match(planned.stdout, /^then in later passes \(1 step\(s\), once what they wait for is done\):\n {2}\+ file\.write +file\/\/.*b\.conf/m);
  assert.match(planned.stdout, /^Plan: 2 create, 0 change, 0 correct drift, 0 prune$/m);
  // The run does what the plan said: both files, in one reconcile.
  const once = await gitfleet(['agent', '--once', ...args], { env });
  assert.equal(once.code, 0, once.stdout);
  assert.match(once.stdout, /2 intended change\(s\)/);
});
