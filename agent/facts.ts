// Host facts for the hub (OS, kernel, arch, CPU, memory, disks, addresses,
// uptime, Docker and systemd versions) via systeminformation. Every probe has
// its own timeout and failure just leaves that fact empty: facts are
// informative, and collecting them must never hang or fail the agent.
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
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

/** `dockerSocket`: the agent's container socket, asked which engine serves it (Docker or Podman). */
export async function collectFacts(timeoutMs = PROBE_TIMEOUT_MS, dockerSocket?: string): Promise<HostFacts> {
  // Loaded on first use: an agent without a hub never needs it, and it weighs
  // several MiB of the daemon's resident memory.
  const { default: si } = await import('systeminformation');
  const [os, cpu, mem, disks, nics, versions, systemd, engine] = await Promise.all([
    within(() => si.osInfo(), timeoutMs),
    within(() => si.cpu(), timeoutMs),
    within(() => si.mem(), timeoutMs),
    within(() => si.fsSize(), timeoutMs),
    within(() => si.networkInterfaces(), timeoutMs),
    within(() => si.versions('docker'), timeoutMs),
    within(() => commandFirstLine('systemctl', ['--version'], timeoutMs), timeoutMs),
    dockerSocket === undefined ? null : within(() => detectContainerEngine(dockerSocket, timeoutMs), timeoutMs),
  ]);
  const facts = emptyFacts();
  if (os) {
    facts.hostname = cut(os.hostname, 253) ?? facts.hostname;
    facts.os = { platform: cut(os.platform, 64), distro: cut(os.distro, 128), release: cut(os.release, 128), codename: cut(os.codename, 128) };
    facts.kernel = cut(os.kernel, 128);
    facts.arch = cut(os.arch, 32);
  }
  if (cpu) facts.cpu = { model: cut([cpu.manufacturer, cpu.brand].filter(Boolean).join(' '), 256), cores: Number.isInteger(cpu.cores) ? cpu.cores : null };
  if (mem) facts.memory = { totalBytes: Number.isSafeInteger(mem.total) ? mem.total : null };
  if (disks) {
    facts.disks = disks
      .filter((d) => Number.isSafeInteger(d.size) && d.size >= 0)
      .slice(0, 64)
      .map((d) => ({ mount: d.mount.slice(0, 1024), fs: d.fs.slice(0, 256), sizeBytes: d.size, usedBytes: Math.max(0, Math.round(d.used || 0)) }));
  }
  if (nics) {
    const list = Array.isArray(nics) ? nics : [nics];
    facts.addresses = list
      .flatMap((n) => [
        ...(n.ip4 ? [{ iface: n.iface.slice(0, 64), address: n.ip4.slice(0, 64), family: 'IPv4' as const }] : []),
        ...(n.ip6 ? [{ iface: n.iface.slice(0, 64), address: n.ip6.slice(0, 64), family: 'IPv6' as const }] : []),
      ])
      .slice(0, 64);
  }
  facts.uptimeSeconds = Math.max(0, si.time().uptime);
  if (versions?.docker) facts.docker = { version: versions.docker.slice(0, 64) };
  const systemdVersion = systemd ? /^systemd\s+(\S+)/.exec(systemd)?.[1] : undefined;
  if (systemdVersion) facts.systemd = { version: systemdVersion.slice(0, 64) };
  if (dockerSocket !== undefined) facts.containerEngine = engine ?? null;
  return facts;
}
