// Podman for tests: its Docker-compatible API served by `podman system service`
// on a test socket, with the test environment's containers.conf
// (test/env/podman/containers.conf). The images come from
// test/env/provision.d/30-podman.sh. The service is started once and left
// running for later test processes (as provisioning leaves dockerd running);
// the containers a test makes carry its run label, so cleanup stays per test.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Dockerode from 'dockerode';
import { DockerTestHarness, TEST_IMAGE, TEST_IMAGE_2 } from './docker.ts';

export const PODMAN_SOCKET = '/run/gitfleet-test/podman.sock';
export const PODMAN_CONTAINERS_CONF = join(dirname(fileURLToPath(import.meta.url)), '..', 'env', 'podman', 'containers.conf');
const LOG = '/var/log/gitfleet-test/podman.log';

async function answers(docker: Dockerode): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

function podmanInstalled(): boolean {
  return ['/usr/bin/podman', '/usr/local/bin/podman'].some((p) => existsSync(p));
}

let starting: Promise<string | null> | undefined;

/**
 * Makes sure Podman's API answers on PODMAN_SOCKET (starting the service when
 * it does not) and has the test images. null when ready; else why not, for
 * requireComponent.
 */
export function podmanMissingReason(): Promise<string | null> {
  return (starting ??= ensurePodmanService());
}

async function ensurePodmanService(): Promise<string | null> {
  if (!podmanInstalled()) return 'podman is not installed';
  const docker = new Dockerode({ socketPath: PODMAN_SOCKET });
  if (!(await answers(docker))) {
    mkdirSync(dirname(PODMAN_SOCKET), { recursive: true });
    mkdirSync(dirname(LOG), { recursive: true });
    const log = openSync(LOG, 'a');
    // Detached: it outlives this test process and serves the next ones.
    const child = spawn('podman', ['system', 'service', '--time=0', `unix://${PODMAN_SOCKET}`], {
      stdio: ['ignore', log, log], detached: true, env: { ...process.env, CONTAINERS_CONF: PODMAN_CONTAINERS_CONF },
    });
    closeSync(log);
    child.unref();
    const deadline = Date.now() + 15_000;
    while (!(await answers(docker))) {
      // Another test process may have won the race for the socket: keep waiting for it.
      if (Date.now() > deadline) return `podman system service did not answer on ${PODMAN_SOCKET} within 15 s; see ${LOG}`;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (const image of [TEST_IMAGE, TEST_IMAGE_2]) {
    try {
      await docker.getImage(image).inspect();
    } catch {
      return `the test image ${image} is missing from Podman's storage`;
    }
  }
  return null;
}

/** The Docker test harness (names, run label, cleanup, manual actions) on Podman's socket. */
export class PodmanTestHarness extends DockerTestHarness {
  constructor(runId?: string) {
    super(PODMAN_SOCKET, runId);
  }

  /**
   * Runs `podman healthcheck run` for this run's running containers every
   * `intervalMs`: what the systemd timer Podman creates per container does on a
   * real host. The test machines have no systemd as PID 1, so without this
   * Podman never runs a healthcheck (docs/edge.md). Returns the stop function.
   */
  driveHealthchecks(intervalMs = 1000): () => void {
    let stopped = false;
    const env = { ...process.env, CONTAINERS_CONF: PODMAN_CONTAINERS_CONF };
    const tick = async () => {
      const running = await this.docker.listContainers({ filters: JSON.stringify({ label: [`io.gitfleet.test=${this.runId}`], status: ['running'] }) }).catch(() => []);
      await Promise.all(running.map((c) => new Promise<void>((resolve) => execFile('podman', ['healthcheck', 'run', c.Id], { env, timeout: 10_000 }, () => resolve()))));
      if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
    };
    let timer = setTimeout(() => void tick(), 0);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }
}
