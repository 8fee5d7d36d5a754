// Factoring a fleet adopted host by host into layers: a resource declared
// the same way in the own directory of every host under a tag directory moves
// into that directory's layer. Only native resource files are considered
// (compose files merge by their own rules, encrypted layers cannot be read
// without keys). A move must not change what any host renders, so it is
// refused when a layer between the tag directory and a host (a deeper tag
// directory, a cross-cutting tag) also declares the resource: there the
// moved entry would lose to it.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { isMap, parseDocument, type Document } from 'yaml';
import type { DeclaredHost } from '../../repo/tree/index.ts';

const sections = ['containers', 'units', 'files', 'networks', 'volumes'] as const;
type Section = (typeof sections)[number];
const kindOf: Record<Section, string> = { containers: 'container', units: 'unit', files: 'file', networks: 'network', volumes: 'volume' };

export interface FactorMove {
  /** kind/name */
  resource: string;
  section: Section;
  name: string;
  /** The tag directory whose layer receives it. */
  to: string;
  /** The file in that directory. */
  file: string;
  /** Host-directory files it is removed from. */
  from: string[];
}

interface Declaration {
  file: string;
  canonical: string;
  value: unknown;
}

/** Native layer files of a directory (not host.yaml, policy, rollout, Compose, encrypted, hidden). */
export function nativeLayerFiles(tree: string, dir: string): string[] {
  const full = join(tree, dir);
  if (!existsSync(full)) return [];
  return readdirSync(full, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .filter((n) => !['host.yaml', 'policy.yaml', 'rollout.yaml'].includes(n) && !n.endsWith('.sops.yaml') && !/^(docker-)?compose(\.[^/]+)?\.ya?ml$/.test(n))
    .sort();
}

/** Keys in a stable order, so two equal declarations compare equal as text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Every resource a directory's native files declare (absent entries included), by kind/name. */
function declarations(tree: string, dir: string): Map<string, Declaration & { section: Section; name: string }> {
  const out = new Map<string, Declaration & { section: Section; name: string }>();
  for (const file of nativeLayerFiles(tree, dir)) {
    const doc = parseDocument(readFileSync(join(tree, dir, file), 'utf8')).toJS() as Record<string, unknown> | null;
    for (const section of sections) {
      const map = doc?.[section];
      if (map === null || typeof map !== 'object') continue;
      for (const [name, value] of Object.entries(map)) out.set(`${kindOf[section]}/${name}`, { file, canonical: canonical(value), value, section, name });
    }
  }
  return out;
}

/** Tag directories between `tag` (exclusive) and the host directory (exclusive). */
function between(tag: string, hostDir: string): string[] {
  const parts = hostDir.split('/');
  const depth = tag.split('/').length;
  return parts.slice(depth, -1).map((_, i) => parts.slice(0, depth + i + 1).join('/'));
}

/** The moves, shallowest tag directory first; a resource moved up is not considered again deeper. */
export function planFactor(tree: string, hosts: DeclaredHost[]): FactorMove[] {
  const own = new Map(hosts.map((h) => [h.dir, declarations(tree, h.dir)]));
  const layerCache = new Map<string, Map<string, unknown>>();
  const layer = (dir: string) => {
    let d = layerCache.get(dir);
    if (!d) layerCache.set(dir, (d = declarations(tree, dir) as Map<string, unknown>));
    return d;
  };
  const tagDirs = [...new Set(hosts.flatMap((h) => h.dir.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/'))))]
    .filter((d) => d !== '' && d.split('/')[0] !== 'tags')
    .sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  const moved = new Set<string>(); // host dir + resource
  const moves: FactorMove[] = [];
  for (const tag of tagDirs) {
    const under = hosts.filter((h) => h.dir.startsWith(`${tag}/`));
    if (under.length < 2) continue;
    const first = own.get(under[0]!.dir)!;
    for (const [resource, decl] of first) {
      if (under.some((h) => moved.has(`${h.dir}\0${resource}`))) continue;
      const same = under.every((h) => own.get(h.dir)?.get(resource)?.canonical === decl.canonical);
      if (!same || (decl.value !== null && typeof decl.value === 'object' && 'absent' in decl.value)) continue;
      const shadowed = layer(tag).has(resource) || under.some((h) => between(tag, h.dir).some((d) => layer(d).has(resource)) || h.crossTags.some((t) => layer(posix.join('tags', t)).has(resource)));
      if (shadowed) continue;
      const files = new Set(under.map((h) => own.get(h.dir)!.get(resource)!.file));
      moves.push({
        resource,
        section: decl.section,
        name: decl.name,
        to: tag,
        file: files.size === 1 ? [...files][0]! : 'common.yaml',
        from: under.map((h) => posix.join(h.dir, own.get(h.dir)!.get(resource)!.file)),
      });
      for (const h of under) moved.add(`${h.dir}\0${resource}`);
    }
  }
  return moves;
}

function editDoc(path: string, edit: (doc: Document) => void): void {
  const doc = existsSync(path) ? parseDocument(readFileSync(path, 'utf8')) : parseDocument('{}');
  edit(doc);
  const empty = doc.contents === null || (isMap(doc.contents) && doc.contents.items.length === 0);
  if (empty && existsSync(path)) rmSync(path);
  else if (!empty) writeFileSync(path, doc.toString({ lineWidth: 0 }));
}

/** Applies the moves to the tree in `tree` (a file emptied of resources is removed). */
export function applyFactor(tree: string, moves: FactorMove[]): void {
  for (const m of moves) {
    let value: unknown;
    for (const from of m.from) {
      editDoc(join(tree, from), (doc) => {
        value ??= doc.getIn([m.section, m.name]);
        doc.deleteIn([m.section, m.name]);
        const section = doc.get(m.section);
        if (isMap(section) && section.items.length === 0) doc.delete(m.section);
      });
    }
    editDoc(join(tree, m.to, m.file), (doc) => {
      if (!doc.has(m.section)) doc.set(m.section, doc.createNode({}));
      doc.setIn([m.section, m.name], value);
    });
  }
}
