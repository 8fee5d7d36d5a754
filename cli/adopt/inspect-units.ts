// The host's own systemd units for `gitfleet adopt`: what an operator put in
// /etc/systemd/system, as unit resources (docs/units-and-files.md).
// - a unit file there that no package installed → a unit with its content
//   and its drop-ins (NAME.d/*.conf), enabled: true when an enable link names it;
// - drop-ins in /etc for a unit a package ships (in /lib or /usr/lib) → a
//   drop-in-only resource: the distribution's unit file stays the distribution's;
// - a mask (a link to /dev/null) → state: masked;
// - every other link (what `systemctl enable` makes in *.wants/, aliases) is skipped.
// Reads a directory tree only (ROOT, default /), so it works on a mounted or
// container root as well as on the live host.
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { unitNameProblem } from '../../shared/resources.ts';

export interface AdoptedUnit {
  content?: string;
  dropins?: Record<string, string>;
  enabled?: true;
  state?: 'masked';
}

export interface UnitsFound {
  units: Record<string, AdoptedUnit>;
  notes: string[];
}

const ETC = 'etc/systemd/system';
const VENDOR = ['usr/lib/systemd/system', 'lib/systemd/system'];
const dropinName = /^[A-Za-z0-9_@-][A-Za-z0-9_.@-]*\.conf$/;
const linkDir = /\.(wants|requires|upholds)$/;
const MAX_UNIT_BYTES = 256 * 1024;

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).then((e) => e.sort(), () => []);
}

/** Paths under /etc/systemd/system that a Debian package installed (dpkg's file lists). */
async function packageOwned(root: string): Promise<Set<string>> {
  const owned = new Set<string>();
  const info = join(root, 'var/lib/dpkg/info');
  for (const name of await entries(info)) {
    if (!name.endsWith('.list')) continue;
    const text = await readFile(join(info, name), 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (line.startsWith(`/${ETC}/`)) owned.add(line.slice(ETC.length + 2));
  }
  return owned;
}

async function vendorHas(root: string, unit: string): Promise<boolean> {
  for (const dir of VENDOR) {
    if (await lstat(join(root, dir, unit)).then(() => true, () => false)) return true;
  }
  return false;
}

async function readSmall(path: string, notes: string[], what: string): Promise<string | null> {
  const st = await lstat(path);
  if (st.size > MAX_UNIT_BYTES) {
    notes.push(`${what} is larger than ${MAX_UNIT_BYTES} bytes; left out`);
    return null;
  }
  return readFile(path, 'utf8');
}

export async function inspectUnits(root: string): Promise<UnitsFound> {
  const etc = join(root, ETC);
  const owned = await packageOwned(root);
  const units: Record<string, AdoptedUnit> = {};
  const notes: string[] = [];
  const enabledNames = new Set<string>();
  const dropinDirs: string[] = [];

  for (const name of await entries(etc)) {
    const path = join(etc, name);
    const st = await lstat(path);
    if (st.isDirectory()) {
      if (linkDir.test(name)) for (const link of await entries(path)) enabledNames.add(link);
      else if (name.endsWith('.d')) dropinDirs.push(name.slice(0, -2));
      continue;
    }
    if (owned.has(name)) continue;
    if (st.isSymbolicLink()) {
      if ((await readlink(path)) === '/dev/null' && unitNameProblem(name) === null) units[name] = { state: 'masked' };
      continue; // an alias or a link to a unit elsewhere: not a unit of its own
    }
    if (!st.isFile()) continue;
    const problem = unitNameProblem(name);
    if (problem !== null) {
      notes.push(`/${ETC}/${name} is not a unit name gitfleet accepts (${problem}); left out`);
      continue;
    }
    const content = await readSmall(path, notes, `/${ETC}/${name}`);
    if (content === null) continue;
    if (content.trim() === '') {
      notes.push(`/${ETC}/${name} is empty; left out`);
      continue;
    }
    units[name] = { content };
  }

  for (const unit of dropinDirs) {
    const dir = join(etc, `${unit}.d`);
    const dropins: Record<string, string> = {};
    for (const file of await entries(dir)) {
      const path = join(dir, file);
      const st = await lstat(path);
      if (!st.isFile() || owned.has(`${unit}.d/${file}`)) continue;
      if (!dropinName.test(file)) {
        if (file.endsWith('.conf')) notes.push(`${path.slice(root.length) || path}: not a drop-in name gitfleet accepts; left out`);
        continue;
      }
      const text = await readSmall(path, notes, `/${ETC}/${unit}.d/${file}`);
      if (text !== null) dropins[file] = text;
    }
    if (Object.keys(dropins).length === 0) continue;
    const existing = units[unit];
    if (existing?.state === 'masked') {
      notes.push(`unit ${unit} is masked; its drop-ins are never loaded and are left out`);
      continue;
    }
    if (existing) {
      existing.dropins = dropins;
      continue;
    }
    if (unitNameProblem(unit) !== null) {
      notes.push(`drop-ins for ${unit}: not a unit name gitfleet accepts; left out`);
      continue;
    }
    const template = unit.includes('@') ? unit.replace(/@[^.]*\./, '@.') : null;
    if ((await vendorHas(root, unit)) || (template !== null && (units[template] !== undefined || (await vendorHas(root, template))))) {
      units[unit] = { dropins };
    } else {
      notes.push(`drop-ins for ${unit}: no such unit in /${ETC}, /lib or /usr/lib; left out`);
    }
  }

  for (const [name, unit] of Object.entries(units)) {
    if (unit.content !== undefined && enabledNames.has(name)) unit.enabled = true;
  }
  // Enabled instances of a template the operator wrote (worker@1.service in a .wants/).
  for (const link of enabledNames) {
    if (units[link] || !link.includes('@') || unitNameProblem(link) !== null) continue;
    const template = link.replace(/@[^.]*\./, '@.');
    if (template !== link && units[template]?.content !== undefined) units[link] = { enabled: true };
  }
  return { units: Object.fromEntries(Object.entries(units).sort(([a], [b]) => a.localeCompare(b))), notes };
}
