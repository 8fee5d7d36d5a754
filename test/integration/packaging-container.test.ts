// The hub container image (packaging/container) builds offline from the
// locally imported Debian base and runs: it answers /healthz and the API with
// its token, runs as the unprivileged gitfleet-hub user, and keeps its store in
// the data volume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { requireComponent } from '../harness/require.ts';
import { dockerMissingReason } from '../harness/docker.ts';
import { freePort } from '../harness/git-servers.ts';
import { bundleMissing, projectDir, waitFor } from '../e2e/fleet-support.ts';

const exec = promisify(execFile);
const run = randomBytes(3).toString('hex');
const base = 'local/gitfleet-base:bookworm';

async function baseMissing(): Promise<string | null> {
  try {
    await exec('docker', ['image', 'inspect', base]);
    return null;
  } catch {
    return `the base image ${base} is not imported (test/env/provision.d/50-hub-image-base.sh)`;
  }
}

test('hub image: builds offline from the local base, runs unprivileged, serves the API', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  if (!requireComponent(t, 'the hub image base', await baseMissing())) return;
  if (!requireComponent(t, 'the built bundle', bundleMissing())) return;
  const tag = `gitfleet-hub:test-${run}`;
  const name = `gfimg-${run}`;
  const volume = `gfimg-${run}`;
  t.after(async () => {
    await exec('docker', ['rm', '-f', name]).catch(() => undefined);
    await exec('docker', ['volume', 'rm', '-f', volume]).catch(() => undefined);
    await exec('docker', ['image', 'rm', '-f', tag]).catch(() => undefined);
  });
  const started = Date.now();
  await exec('bash', [join(projectDir, 'packaging/container/build-image.sh'), '--tag', tag], { timeout: 150_000 });
  t.diagnostic(`image built in ${Date.now() - started} ms`);
  const { stdout: user } = await exec('docker', ['image', 'inspect', '-f', '{{.Config.User}}', tag]);
  assert.equal(user.trim(), 'gitfleet-hub');

  const port = await freePort();
  const admin = randomBytes(16).toString('hex');
  // The engine here has no bridge: the host network, on a loopback port.
  await exec('docker', ['run', '-d', '--name', name, '--network', 'host', '-v', `${volume}:/var/lib/gitfleet-hub`,
    '-e', `GITFLEET_HUB_LISTEN=127.0.0.1:${port}`, '-e', `GITFLEET_HUB_ADMIN_TOKEN=${admin}`, '-e', `GITFLEET_HUB_ENROLLMENT_TOKEN=${randomBytes(16).toString('hex')}`, tag]);
  const health = await waitFor('the hub container to answer', 30_000, async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return res.ok ? ((await res.json()) as { ok: boolean }) : undefined;
  }).catch(async (error: unknown) => {
    const logs = await exec('docker', ['logs', name]).catch(() => ({ stdout: '', stderr: '' }));
    throw new Error(`${String(error)}\n${logs.stdout}${logs.stderr}`);
  });
  assert.equal(health.ok, true);
  assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/summary`)).status, 401, 'the API needs the token');
  assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/summary`, { headers: { authorization: `Bearer ${admin}` } })).status, 200);
  const { stdout: top } = await exec('docker', ['top', name, '-o', 'pid,uid,args']);
  assert.match(top, /node \/usr\/lib\/gitfleet\/gitfleet\.mjs hub/);
  const uids = top.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]);
  assert.ok(uids.length > 0 && uids.every((u) => u !== '0' && u !== 'root'), `nothing in the container runs as root: ${top}`);
  const { stdout: files } = await exec('docker', ['exec', name, 'ls', '/var/lib/gitfleet-hub']);
  assert.match(files, /hub\.sqlite/);
});
