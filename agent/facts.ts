// Host facts for the hub (OS, kernel, arch, CPU, memory, disks, addresses,
// uptime, Docker and systemd versions), read from Node's os module, /proc and
// /etc/os-release. Every probe has its own timeout and failure just leaves that
// fact empty: facts are informative, and collecting them must never hang or
// fail the agent. (A general-purpose library did this before: loading it cost
// the idle daemon ~8 MiB of resident memory for these few values.)
import { execFile } from 'node:child_process';
import { readFile, statfs } from 'node:fs/promises';
import { arch, cpus, hostname, networkInterfaces, release, totalmem, uptime } from 'node:os';
import type { HostFacts } from '../shared/protocol.ts';
import { detectContainerEngine } from './drivers/docker/engine-kind.ts';

export type { HostFacts };

const PROBE_TIMEOUT_MS = 5000;

function within<T>(probe: () => Promise<T>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    timer.unref();
    probe().then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
    );
  });
}

function commandFirstLine(file: string, args: string[], ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: ms, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout.split('\n')[0] ?? '');
    });
  });
}

const cut = (s: string | null | undefined, max: number): string | null => (s ? s.slice(0, max) : null);

/** Facts with nothing known, for when collection fails entirely. */
export function emptyFacts(now = new Date()): HostFacts {
  return {
    hostname: cut(hostname(), 253),
    os: { platform: null, distro: null, release: null, codename: null },
    kernel: null,
    arch: null,
    cpu: { model: null, cores: null },
    memory: { totalBytes: null },
    disks: [],
    addresses: [],
    uptimeSeconds: null,
    docker: null,
    systemd: null,
    collectedAt: now.toISOString(),
  };
}

/** NAME, VERSION_ID and VERSION_CODENAME of os-release(5): /etc first, then /usr/lib. */
async function osRelease(): Promise<{ distro: string | null; release: string | null; codename: string | null }> {
  let text = '';
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    text = await readFile(file, 'utf8').catch(() => '');
    if (text) break;
  }
  const value = (key: string): string | null => {
    const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text);
    return m ? m[1]!.trim().replace(/^(["'])(.*)\1$/, '$2') || null : null;
  };
  return { distro: value('NAME'), release: value('VERSION_ID'), codename: value('VERSION_CODENAME') };
}

// Filesystems on a block device are the host's disks; overlay, tmpfs, proc,
// cgroup… (and squashfs images, always full) are not.
const NOT_A_DISK = new Set(['squashfs', 'overlay', 'tmpfs', 'devtmpfs']);
const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/**
 * Mounted block-device filesystems with their size and used bytes (as df counts
 * them), one per device like df: a device mounted or bound at several places is
 * listed at its shortest mount point.
 */
async function disks(): Promise<HostFacts['disks']> {
  const byDevice = new Map<string, string>();
  for (const line of (await readFile('/proc/self/mounts', 'utf8')).split('\n')) {
    const [source, target, type] = line.split(' ');
    if (!source?.startsWith('/dev/') || !target || !type || NOT_A_DISK.has(type)) continue;
    const device = unescapeMount(source);
    const mount = unescapeMount(target);
    const known = byDevice.get(device);
    if (known === undefined || mount.length < known.length) byDevice.set(device, mount);
  }
  const out: HostFacts['disks'] = [];
  for (const [device, mount] of [...byDevice].slice(0, 64)) {
    const st = await statfs(mount).catch(() => null);
    if (!st) continue;
    const sizeBytes = st.blocks * st.bsize;
    const usedBytes = Math.max(0, (st.blocks - st.bfree) * st.bsize);
    if (Number.isSafeInteger(sizeBytes) && Number.isSafeInteger(usedBytes)) out.push({ mount: mount.slice(0, 1024), fs: device.slice(0, 256), sizeBytes, usedBytes });
  }
  return out;
}

/** Each interface's first IPv4 and first IPv6 address (a global one before a link-local one). */
function addresses(): HostFacts['addresses'] {
  const out: HostFacts['addresses'] = [];
  for (const [iface, list] of Object.entries(networkInterfaces())) {
    const all = list ?? [];
    const v4 = all.find((a) => a.family === 'IPv4');
    const v6 = all.find((a) => a.family === 'IPv6' && !a.address.startsWith('fe80:')) ?? all.find((a) => a.family === 'IPv6');
    if (v4) out.push({ iface: iface.slice(0, 64), address: v4.address.slice(0, 64), family: 'IPv4' });
    if (v6) out.push({ iface: iface.slice(0, 64), address: v6.address.slice(0, 64), family: 'IPv6' });
  }
  return out.slice(0, 64);
}

/** `dockerSocket`: the agent's container socket, asked which engine serves it (Docker or Podman). */
export async function collectFacts(timeoutMs = PROBE_TIMEOUT_MS, dockerSocket?: string): Promise<HostFacts> {
  const [os, diskList, dockerCli, systemd, engine] = await Promise.all([
    within(() => osRelease(), timeoutMs),
    within(() => disks(), timeoutMs),
    // The docker CLI's version, as before the engine was asked (containerEngine below is the engine's).
    within(() => commandFirstLine('docker', ['--version'], timeoutMs), timeoutMs),
    within(() => commandFirstLine('systemctl', ['--version'], timeoutMs), timeoutMs),
    dockerSocket === undefined ? null : within(() => detectContainerEngine(dockerSocket, timeoutMs), timeoutMs),
  ]);
  const facts = emptyFacts();
  facts.os = { platform: process.platform, distro: cut(os?.distro, 128), release: cut(os?.release, 128), codename: cut(os?.codename, 128) };
  facts.kernel = cut(release(), 128);
  facts.arch = cut(arch(), 32);
  const cpuList = cpus();
  // Some ARM kernels name no model in /proc/cpuinfo: that stays unknown.
  facts.cpu = { model: cut(cpuList[0]?.model.trim(), 256), cores: cpuList.length > 0 ? cpuList.length : null };
  facts.memory = { totalBytes: Number.isSafeInteger(totalmem()) ? totalmem() : null };
  if (diskList) facts.disks = diskList;
  facts.addresses = addresses();
  facts.uptimeSeconds = Math.max(0, Math.round(uptime()));
  const dockerVersion = dockerCli ? /version\s+(\d[^\s,]*)/i.exec(dockerCli)?.[1] : undefined;
  if (dockerVersion) facts.docker = { version: dockerVersion.slice(0, 64) };
  const systemdVersion = systemd ? /^systemd\s+(\S+)/.exec(systemd)?.[1] : undefined;
  if (systemdVersion) facts.systemd = { version: systemdVersion.slice(0, 64) };
  if (dockerSocket !== undefined) facts.containerEngine = engine ?? null;
  return facts;
}
