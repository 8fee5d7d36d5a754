// arm64 systemd hosts on this x86-64 machine: the Debian arm64 tree that
// test/env/arm64-base.sh builds (cached), booted by the nspawn harness with
// every arm64 binary run by qemu-user through binfmt_misc. The host brings its
// own Node.js (Debian's arm64 package), so this machine's node is not bound in.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootHost, systemdHostsAvailable, type BootOptions, type SystemdHost } from './nspawn.ts';

const cacheDir = process.env.GITFLEET_TEST_CACHE ?? '/var/cache/gitfleet-test';
export const arm64Tree = join(cacheDir, 'arm64-base');
/** While test/env/arm64-base.sh builds the tree it keeps its PID here (CI builds it in the background). */
const buildingMarker = join(cacheDir, 'arm64-base.building');
const binfmtEntry = '/proc/sys/fs/binfmt_misc/qemu-aarch64';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function buildInProgress(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(buildingMarker, 'utf8').trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // a build that died leaves its marker; the stamp check below says the rest
  }
}

/**
 * null when arm64 hosts can boot here, else the reason (for requireComponent).
 * Waits up to `waitForBuildMs` for a build of the tree that is still running.
 */
export async function arm64HostsAvailable(waitForBuildMs = 20 * 60_000): Promise<string | null> {
  if (process.arch !== 'x64' && process.arch !== 'arm64') return `arm64 hosts are emulated on x86-64 (this is ${process.arch})`;
  if (process.arch === 'x64') {
    if (!existsSync(binfmtEntry)) return `qemu-aarch64 is not registered with binfmt_misc (${binfmtEntry} is missing; test/env/provision.d/25-arm64.sh registers it)`;
    const entry = readFileSync(binfmtEntry, 'utf8');
    if (!/^enabled$/m.test(entry)) return `${binfmtEntry} is disabled`;
    // F (fix binary): the kernel opens qemu when it is registered, so it runs inside a host's root too.
    if (!/^flags: .*F/m.test(entry)) return `${binfmtEntry} lacks the F flag: qemu would not be found inside the host's root`;
  }
  const deadline = Date.now() + waitForBuildMs;
  while (buildInProgress()) {
    if (Date.now() > deadline) return `the arm64 tree ${arm64Tree} is still being built after ${waitForBuildMs / 60_000} min (${cacheDir}/arm64-base.log)`;
    await sleep(2000);
  }
  const missing = systemdHostsAvailable(arm64Tree);
  if (missing) return `${missing}; build it with bash test/env/arm64-base.sh (log: ${cacheDir}/arm64-base.log)`;
  return null;
}

/** Boots an arm64 host (the project bound at /opt/gitfleet); everything in it runs under qemu, so boot gets minutes, not seconds. */
export async function bootArm64Host(name: string, options: BootOptions = {}): Promise<SystemdHost> {
  const host = await bootHost(name, { bootTimeoutMs: 180_000, ...options, baseTree: arm64Tree, bindNode: false });
  return {
    ...host,
    // qemu maps real-time signals to other host numbers, so SIGRTMIN+4 sent from
    // outside is not the guest's SIGRTMIN+4: the host's own kill sends it through qemu.
    async poweroff() {
      await host.exec(['bash', '-c', 'kill -s SIGRTMIN+4 1'], { timeoutMs: 30_000 }).catch(() => undefined);
      await host.poweroff();
    },
  };
}
