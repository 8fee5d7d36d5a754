// A test network for one systemd host: its own network namespace joined to
// the VM by a veth pair on a /30 of TEST-NET-1 (192.0.2.0/24; never a private
// range, never a public address), so a test can cut the host's only link
// (`ip link set DEV down` inside the namespace) and bring it back. The host is
// booted with its systemd-nspawn process started inside the namespace (nspawn
// without --private-network stays in the namespace it was started in, which is
// what --network-namespace-path= would join).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { attachHost, poweroffHost, type SystemdHost } from './nspawn.ts';

const nspawnCli = join(resolve(import.meta.dirname), 'nspawn.ts');

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** null when network namespaces and veth pairs can be made here. */
export function netnsMissing(): string | null {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (!existsSync('/usr/bin/nsenter')) return 'nsenter is missing (util-linux)';
  try {
    ip('-V');
  } catch {
    return 'ip is missing (apt-get install iproute2)';
  }
  return null;
}

export class TestNet {
  readonly ns: string;
  /** The VM's end (in the VM's namespace) and the host's end (inside `ns`). */
  readonly vmDev: string;
  readonly hostDev: string;
  /** 192.0.2.N (the VM's side) and 192.0.2.N+1 (the host's side). */
  vmAddress = '';
  hostAddress = '';
  #made = false;

  constructor(tag: string) {
    if (!/^[a-z0-9]{1,8}$/.test(tag)) throw new Error(`net tag ${tag} must be 1-8 of a-z0-9 (interface names are at most 15 characters)`);
    this.ns = `gff-${tag}`;
    this.vmDev = `gff${tag}v`;
    this.hostDev = `gff${tag}h`;
  }

  /** Makes the namespace and the link, on a /30 of 192.0.2.0/24 no other interface of the VM uses. */
  create(): void {
    const used = new Set([...ip('-4', '-o', 'addr').matchAll(/inet 192\.0\.2\.(\d+)\//g)].map((m) => Number(m[1]) & ~3));
    const free = Array.from({ length: 64 }, (_, i) => i * 4).filter((b) => b !== 0 && b !== 252 && !used.has(b));
    if (free.length === 0) throw new Error('every /30 of 192.0.2.0/24 is in use on this VM');
    const base = free[Math.floor(Math.random() * free.length)]!;
    this.vmAddress = `192.0.2.${base + 1}`;
    this.hostAddress = `192.0.2.${base + 2}`;
    ip('netns', 'add', this.ns);
    this.#made = true;
    ip('link', 'add', this.vmDev, 'type', 'veth', 'peer', 'name', this.hostDev);
    ip('link', 'set', this.hostDev, 'netns', this.ns);
    ip('addr', 'add', `${this.vmAddress}/30`, 'dev', this.vmDev);
    ip('link', 'set', this.vmDev, 'up');
    ip('-n', this.ns, 'addr', 'add', `${this.hostAddress}/30`, 'dev', this.hostDev);
    ip('-n', this.ns, 'link', 'set', 'lo', 'up');
    ip('-n', this.ns, 'link', 'set', this.hostDev, 'up');
  }

  /** The link goes down inside the host's namespace: the host has no network at all. */
  cut(): void {
    ip('-n', this.ns, 'link', 'set', this.hostDev, 'down');
  }

  restore(): void {
    ip('-n', this.ns, 'link', 'set', this.hostDev, 'up');
  }

  /** Boots systemd host `name` inside the namespace (test/harness/nspawn.ts's CLI, started by nsenter --net). */
  async bootHost(name: string): Promise<SystemdHost> {
    const child = spawn('/usr/bin/nsenter', [`--net=/run/netns/${this.ns}`, '--', process.execPath, '--import', 'tsx', nspawnCli, 'boot', name], { cwd: resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    if (code !== 0) throw new Error(`booting ${name} in ${this.ns} failed (${code}): ${out.trim()}`);
    return attachHost(name);
  }

  /** Powers the host off (if booted), then deletes the namespace and the link; never throws. */
  async dispose(hostName?: string): Promise<void> {
    if (hostName) await poweroffHost(hostName).catch(() => undefined);
    if (!this.#made) return;
    try {
      ip('link', 'del', this.vmDev); // takes its peer with it
    } catch {
      // already gone
    }
    try {
      ip('netns', 'del', this.ns);
    } catch {
      // already gone
    }
  }
}
