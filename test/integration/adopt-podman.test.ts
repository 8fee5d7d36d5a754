// Adoption on Podman: containers started with `podman run` on a private Podman
// (its own storage and API socket, so only this test's containers are seen).
// `gitfleet adopt` writes only what the operator asked for — not the
// variables, working directory, stop signal, pids limit, bind options and
// network Podman fills in on its own — and the agent with `adopt: true` takes
// the containers over as they are: same ids, nothing recreated. What was set
// on purpose (a working directory, a stop signal, a TERM of one's own, no
// network) is kept.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { gitfleet } from '../helpers/gitfleet-cli.ts';
import { TEST_IMAGE } from '../harness/docker.ts';
import { podmanMissingReason } from '../harness/podman.ts';
import { PrivatePodman } from '../harness/private-podman.ts';
import { requireComponent } from '../harness/require.ts';

const scratch = mkdtempSync(join(tmpdir(), 'gitfleet-adopt-podman-'));
const fleet = join(scratch, 'fleet');
const src = join(scratch, 'src');
const state = join(scratch, 'state');
mkdirSync(src);
let podman: PrivatePodman | null = null;
let missing: string | null = null;
const ids = new Map<string, string>();

before(async () => {
  missing = await podmanMissingReason();
  if (missing) return;
  podman = new PrivatePodman();
  await podman.start();
  await podman.copyImage(TEST_IMAGE);
  ids.set('web', await podman.podman(['run', '-d', '--name', 'web', '-e', 'MODE=prod', '-v', `${src}:/src`, '-v', 'appdata:/data:ro', '--label', 'team=web', '--restart', 'unless-stopped', TEST_IMAGE, 'sleep', '3600']));
  ids.set('job', await podman.podman(['run', '-d', '--name', 'job', '--network', 'none', '-w', '/bin', '--stop-signal', 'SIGINT', '-e', 'TERM=dumb', TEST_IMAGE, 'sleep', '3600']));
});
after(async () => {
  await podman?.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

test('gitfleet adopt on Podman writes what was asked for, not what Podman filled in', async (t) => {
  if (!requireComponent(t, 'Podman', missing)) return;
  const r = await gitfleet(['adopt', '--host', 'pm1', '--into', fleet, '--containers', '--docker-socket', podman!.socket], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const written = parse(readFileSync(join(fleet, 'pm1', 'containers.yaml'), 'utf8')) as { containers: Record<string, unknown>; volumes?: Record<string, unknown>; networks?: unknown };
  assert.deepEqual(written.containers.web, {
    image: TEST_IMAGE,
    command: ['sleep', '3600'],
    env: { MODE: 'prod' },
    volumes: [`${src}:/src`, 'appdata:/data:ro'],
    restart: 'unless-stopped',
    labels: { team: 'web' },
    depends_on: ['volume/appdata'],
  });
  assert.deepEqual(written.containers.job, {
    image: TEST_IMAGE,
    command: ['sleep', '3600'],
    env: { TERM: 'dumb' },
    network: 'none',
    working_dir: '/bin',
    stop_signal: 'SIGINT',
  });
  assert.deepEqual(Object.keys(written.volumes ?? {}), ['appdata']);
  assert.equal(written.networks, undefined, 'Podman\'s default network is not declared');
});

test('the agent with adopt: true takes the Podman containers over without recreating them', async (t) => {
  if (!requireComponent(t, 'Podman', missing)) return;
  assert.match(readFileSync(join(fleet, 'pm1', 'host.yaml'), 'utf8'), /^adopt: true$/m);
  const plan = await gitfleet(['plan', '--repo', fleet, '--host', 'pm1', '--state-dir', state, '--files-allow', scratch], { env: { GITFLEET_DOCKER_SOCKET: podman!.socket }, timeoutMs: 60_000 });
  assert.doesNotMatch(plan.stdout, /replace|recreate/i, plan.stdout);
  const once = await gitfleet(['agent', '--once', '--repo', fleet, '--host', 'pm1', '--state-dir', state, '--files-allow', scratch], { env: { GITFLEET_DOCKER_SOCKET: podman!.socket }, timeoutMs: 120_000 });
  assert.equal(once.code, 0, once.stdout + once.stderr);
  for (const [name, id] of ids) {
    assert.equal(await podman!.podman(['inspect', '--format', '{{.Id}}', name]), id, `${name} is the same container`);
  }
  const status = JSON.parse(readFileSync(join(state, 'status.json'), 'utf8')) as { resources: Array<{ id: string; sync: string; adoption?: string }> };
  for (const name of ids.keys()) {
    const res = status.resources.find((x) => x.id === `container/${name}`);
    assert.equal(res?.adoption, 'Adopted', JSON.stringify(res));
    assert.equal(res?.sync, 'InSync', JSON.stringify(res));
  }
});
