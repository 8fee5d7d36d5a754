// Shared by the packaging tests, the end-to-end fleet test and the demo: what
// an installed gitfleet looks like from outside a systemd host (install.sh run
// inside it, the overlay's upper directory as "every file the host changed").
import { existsSync, readdirSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecResult, SystemdHost } from '../harness/nspawn.ts';
import { baseTree, stateRoot } from '../harness/nspawn.ts';

export { bundleMissing, projectDir, sleep, waitFor } from '../harness/built-cli.ts';

/** Where the harness binds the project inside every host. */
export const installScript = '/opt/gitfleet/packaging/install.sh';

export async function mustExec(host: SystemdHost, argv: string[], timeoutMs = 60_000): Promise<ExecResult> {
  const r = await host.exec(argv, { timeoutMs });
  if (r.code !== 0) throw new Error(`${host.name}: ${argv.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

export function installAgent(host: SystemdHost, args: string[]): Promise<ExecResult> {
  return host.exec(['bash', installScript, 'agent', ...args], { timeoutMs: 120_000 });
}

/** Every path (relative, sorted) the host has added or changed over its base tree. */
export function changedPaths(host: SystemdHost): string[] {
  const upper = join(stateRoot, host.name, 'upper');
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      if (lstatSync(p).isDirectory()) walk(p, r);
    }
  };
  walk(upper, '');
  return out.sort();
}

/**
 * Paths systemd and journald touch on their own while a host runs, and the
 * backups shadow's useradd/userdel keep of the account files: not traces of an install.
 */
export const runtimeNoise = [/^var\/log(\/|$)/, /^var\/tmp\/systemd-private-/, /^var\/lib\/systemd(\/|$)/, /^var\/cache(\/|$)/, /^root(\/|$)/, /^etc\/\.pwd\.lock$/, /^etc\/(passwd|group|shadow|gshadow)-$/];

/** True when `rel` in the host is what the base tree has (a directory there, or a file with the same bytes). */
function sameAsBase(host: SystemdHost, rel: string): boolean {
  const inBase = join(baseTree, rel);
  const inHost = join(host.rootDir, rel);
  if (!existsSync(inBase) || !existsSync(inHost)) return false;
  const b = lstatSync(inBase);
  const h = lstatSync(inHost);
  if (b.isDirectory() && h.isDirectory()) return true;
  return b.isFile() && h.isFile() && readFileSync(inBase).equals(readFileSync(inHost));
}

/**
 * What the host has now that it did not have at `before` (a changedPaths
 * list): new or changed paths, minus runtime noise, `ignore`, and overlay
 * copy-ups that are back to the base tree's content.
 */
export function tracesSince(host: SystemdHost, before: string[], ignore: RegExp[] = []): { added: string[]; removed: string[] } {
  const now = changedPaths(host);
  const skip = (p: string) => runtimeNoise.some((re) => re.test(p)) || ignore.some((re) => re.test(p));
  return {
    added: now.filter((p) => !before.includes(p) && !skip(p) && !sameAsBase(host, p)),
    removed: before.filter((p) => !now.includes(p) && !skip(p)),
  };
}

