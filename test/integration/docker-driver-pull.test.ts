// ensureImage against a real registry: Debian's docker-registry serving on
// 127.0.0.1 (the engine treats loopback registries as plain HTTP), with the
// local test images pushed to it. Proves pull for real, and the rule of
// `pull: always`: fall back to a local copy only when no registry answers.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerContainerDriver } from '../../agent/drivers/docker/docker-container-driver.ts';
import { isGitfleetError, type ErrorCode } from '../../shared/errors.ts';
import { requireComponent } from '../harness/require.ts';
import { DockerTestHarness, TEST_IMAGE, TEST_IMAGE_2, dockerMissingReason } from '../harness/docker.ts';

const REGISTRY_BIN = '/usr/bin/docker-registry';
const harness = new DockerTestHarness();
const driver = new DockerContainerDriver();
const dir = mkdtempSync(join(tmpdir(), 'gitfleet-registry-'));
let registry: ChildProcess | null = null;
const tagged: string[] = [];

async function stopRegistry(): Promise<void> {
  const child = registry;
  registry = null;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

after(async () => {
  await stopRegistry();
  for (const ref of tagged) await harness.docker.getImage(ref).remove({ noprune: true }).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function startRegistry(port: number): Promise<void> {
  const config = join(dir, 'config.yml');
  writeFileSync(config, [
    'version: 0.1',
    'log: { level: error }',
    `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
    `http: { addr: "127.0.0.1:${port}" }`,
    '',
  ].join('\n'));
  registry = spawn(REGISTRY_BIN, ['serve', config], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) return;
    } catch {
      // not listening yet
    }
    if (registry.exitCode !== null) throw new Error(`docker-registry exited with ${registry.exitCode}`);
    if (Date.now() > deadline) throw new Error('docker-registry did not answer within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `docker tag SOURCE REF && docker push REF` on the shared engine. */
async function push(source: string, ref: string): Promise<void> {
  const [repo, tag] = [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
  await harness.docker.getImage(source).tag({ repo, tag });
  tagged.push(ref);
  // the engine insists on an auth header, even an empty one, for a push
  const stream = (await harness.docker.getImage(ref).push({ authconfig: {} })) as NodeJS.ReadableStream;
  const output = await new Promise<string>((resolve, reject) => {
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
  assert.ok(!output.includes('"error"'), `push of ${ref} failed: ${output}`);
}

/** `docker rmi REF` that only untags (the busybox images stay). */
async function untag(ref: string): Promise<void> {
  await harness.docker.getImage(ref).remove({ noprune: true });
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isGitfleetError(error, code), `expected ${code}, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

test('ensureImage pulls from a real registry per policy, and `always` falls back only when the registry is unreachable', async (t) => {
  if (!requireComponent(t, 'Docker engine', await dockerMissingReason())) return;
  if (!requireComponent(t, 'docker-registry', existsSync(REGISTRY_BIN) ? null : `${REGISTRY_BIN} is missing (apt package docker-registry)`)) return;
  const port = await freePort();
  await startRegistry(port);
  const ref = `127.0.0.1:${port}/gitfleet/busybox:${harness.runId}`;
  const id1 = await harness.imageId(TEST_IMAGE);
  const id2 = await harness.imageId(TEST_IMAGE_2);
  assert.notEqual(id1, id2, 'the two test images differ');

  await push(TEST_IMAGE, ref);
  await untag(ref);
  await rejectsWith(driver.ensureImage(ref, 'never'), 'IMAGE_NOT_FOUND', /pull: never forbids pulling/);
  assert.equal(await driver.ensureImage(ref, 'missing'), id1, 'missing: pulled from the registry');
  assert.equal(await harness.imageId(ref), id1);

  // A new image under the same tag: `missing` keeps the local one, `always` pulls it.
  await push(TEST_IMAGE_2, ref);
  await harness.docker.getImage(TEST_IMAGE).tag({ repo: ref.slice(0, ref.lastIndexOf(':')), tag: harness.runId });
  assert.equal(await driver.ensureImage(ref, 'missing'), id1);
  assert.equal(await driver.ensureImage(ref, 'always'), id2, 'always: the registry’s newer image');

  // The registry answers "no such manifest": no fallback, and the error says so.
  const absent = `127.0.0.1:${port}/gitfleet/busybox:absent-${harness.runId}`;
  await harness.docker.getImage(TEST_IMAGE).tag({ repo: absent.slice(0, absent.lastIndexOf(':')), tag: `absent-${harness.runId}` });
  tagged.push(absent);
  await rejectsWith(driver.ensureImage(absent, 'always'), 'IMAGE_NOT_FOUND', /the registry answered: .*(manifest unknown|not found)/);

  // No registry answering: `always` falls back to the local copy; `missing` of an absent image fails clearly.
  await stopRegistry();
  assert.equal(await driver.ensureImage(ref, 'always'), id2);
  await untag(absent);
  await rejectsWith(driver.ensureImage(absent, 'missing'), 'IMAGE_NOT_FOUND', /could not be pulled: .*connection refused/);
});
