// loadDesiredState: one host's merged desired state, reading only that host's
// layers (its path from the root, its cross-cutting tags, its directory).
import { GitfleetError } from '../../shared/errors.ts';
import type { DesiredState } from '../../shared/resources.ts';
import { hostNameProblem } from '../../shared/resources.ts';
import { MASK, processSecrets, SecretValues } from '../../shared/secrets/mask.ts';
import type { LayerKeys } from '../secrets/encrypted-layer.ts';
import type { Evaluation, HostPlacement } from './evaluate.ts';
import { evaluateHost } from './evaluate.ts';
import type { ValidationIssue } from './issues.ts';
import { issue, normalizeIssues, TreeInvalidError, wholeFile } from './issues.ts';
import type { Layer } from './layer.ts';
import { crossTagCollision, duplicateHostIssue, findHostDirs, layoutIssues, nestedDirIssue, scanTree } from './layout.ts';
import { nearestNames } from './nearest.ts';
import { readLayer } from './read-layer.ts';
import type { FleetTree } from './tree-fs.ts';
import { CROSS_TAGS_DIR, dirLabel, hasHostFile, isTreeDir, listDir, openTree, relJoin } from './tree-fs.ts';

export interface LoadOptions {
  host: string;
  /** Leaf layer for a host without its own directory, e.g. `prod/kiosks`. */
  place?: string;
  /**
   * Encrypted layers (docs/secrets.md): the host's age identity decrypts them; null
   * refuses them (decryption required, no key); absent reads them with placeholders.
   */
  keys?: LayerKeys;
}

/** The desired state plus what `gitfleet render` shows about how it came to be. */
export interface HostExplanation extends Evaluation {
  state: DesiredState;
  /** Plaintext values decrypted for this host (also registered in processSecrets). */
  secrets: string[];
}

/** Merged desired state of one host; throws TreeInvalidError or GitfleetError('UNKNOWN_HOST' | 'UNKNOWN_PLACE'). */
export async function loadDesiredState(treeRoot: string, opts: LoadOptions): Promise<DesiredState> {
  return (await explainDesiredState(treeRoot, opts)).state;
}

export async function explainDesiredState(treeRoot: string, opts: LoadOptions): Promise<HostExplanation> {
  const tree = await openTree(treeRoot);
  if (!tree) throw new TreeInvalidError([issue('./', wholeFile, 'FILE_UNREADABLE', `the fleet tree ${treeRoot} is not a readable directory`)]);
  const problem = hostNameProblem(opts.host);
  if (problem !== null) throw new GitfleetError('UNKNOWN_HOST', `host id "${opts.host}" can never match a host directory: ${problem}`);

  const issues: ValidationIssue[] = [];
  const leaf = await locateHost(tree, opts, issues);
  const parts = leaf.dir.split('/');
  const pathDirs = ['', ...parts.map((_, i) => parts.slice(0, i + 1).join('/'))];
  if (leaf.hostDir) pathDirs.pop();

  const pathListings = await Promise.all(pathDirs.map((d) => listDir(tree, d)));
  const pathLayers = await Promise.all(
    pathListings.map((listing, i) => {
      const extra = layoutIssues(listing, i === 0 ? 'root' : 'path');
      // A host directory above this host would make it a directory inside a host.
      if (i > 0 && listing.hasHostFile) extra.push(nestedDirIssue(listing.dir, parts[i]!, 'host'));
      return readLayer(tree, listing, false, extra, opts.keys);
    }),
  );
  let hostLayer: Layer | null = null;
  if (leaf.hostDir) {
    const listing = await listDir(tree, leaf.dir);
    hostLayer = await readLayer(tree, listing, true, layoutIssues(listing, 'host'), opts.keys);
  }
  const crossTags = hostLayer?.host?.tags ?? [];
  const crossLayers = await readCrossTags(tree, crossTags, pathListings[0]?.dirs ?? [], issues, opts.keys);

  const layers = [...pathLayers, ...crossLayers, ...(hostLayer ? [hostLayer] : [])];
  const placement: HostPlacement = {
    host: opts.host,
    place: leaf.dir,
    pathTags: pathDirs.slice(1),
    crossTags: crossTags.map((t) => t.name),
    layers,
  };
  const evaluation = evaluateHost(placement);
  // Every decrypted value is registered before anything can be printed or thrown (taint by value).
  const secrets = layers.flatMap((l) => l.secrets);
  processSecrets.add(secrets);
  const found = normalizeIssues([...issues, ...layers.flatMap((l) => l.issues), ...evaluation.issues]).map((i) => ({ ...i, message: processSecrets.mask(i.message) }));
  // A file that could not be decrypted is the cause; the unresolved ${…} it leaves behind are its echoes.
  const all = [...found.filter((i) => i.code.startsWith('SECRET_')), ...found.filter((i) => !i.code.startsWith('SECRET_'))];
  if (all.length > 0 || evaluation.state === null) {
    throw new TreeInvalidError(all.length > 0 ? all : [issue(dirLabel(leaf.dir), wholeFile, 'INTERNAL', 'the host could not be evaluated')]);
  }
  markSecret(evaluation.state, layers, secrets);
  return { ...evaluation, state: evaluation.state, secrets };
}

/** A resource is secret when it holds a decrypted value or a string built from one, or was read as placeholders. */
export function markSecret(state: DesiredState, layers: Layer[], secrets: string[]): void {
  const local = new SecretValues();
  local.add(secrets);
  const opaque = new Set(layers.flatMap((l) => [...l.entries.values()].filter((e) => e.opaque).map((e) => `${e.file}:${e.line}`)));
  for (const r of state.resources) {
    if (local.taintsDeep(r.spec) || opaque.has(`${r.source.file}:${r.source.line}`) || JSON.stringify(r.spec).includes(MASK)) r.secret = true;
  }
}

interface Leaf {
  dir: string;
  /** True when `dir` is the host's own directory, false for a place. */
  hostDir: boolean;
}

async function locateHost(tree: FleetTree, opts: LoadOptions, issues: ValidationIssue[]): Promise<Leaf> {
  if (opts.place !== undefined) {
    const place = opts.place.replace(/\/+$/, '');
    const bad = place === '' ? 'it is empty' : place.split('/').map(hostNameProblem).find((p) => p !== null);
    if (bad || place.split('/')[0] === CROSS_TAGS_DIR) {
      throw new GitfleetError('UNKNOWN_PLACE', `place "${opts.place}" is not a tag path like prod/kiosks${bad ? `: ${bad}` : ' (tags/ holds cross-cutting tags)'}`);
    }
    // A host that has its own directory right under its place uses it.
    const own = relJoin(place, opts.host);
    if (await hasHostFile(tree, own)) return { dir: own, hostDir: true };
    if (!(await isTreeDir(tree, place))) {
      const scan = await scanTree(tree);
      const near = nearestNames(place, scan.pathTags);
      throw new GitfleetError('UNKNOWN_PLACE', `place "${place}" is not a directory of the fleet tree${near.length ? `; nearest: ${near.join(', ')}` : ''}`);
    }
    if (await hasHostFile(tree, place)) {
      throw new GitfleetError('UNKNOWN_PLACE', `place "${place}" is the directory of host "${place.split('/').pop()}", not a tag`);
    }
    return { dir: place, hostDir: false };
  }
  const found = await findHostDirs(tree, opts.host);
  if (found.length === 0) {
    const scan = await scanTree(tree);
    const near = nearestNames(opts.host, scan.hostDirs.keys(), 5);
    const hint = near.length > 0 ? `; nearest: ${near.join(', ')}` : scan.hostDirs.size === 0 ? '; the tree declares no hosts' : '';
    throw new GitfleetError('UNKNOWN_HOST', `no host directory named "${opts.host}" in the fleet tree (and no place given)${hint}`);
  }
  for (const dup of found.slice(1)) issues.push(duplicateHostIssue(opts.host, found[0]!, dup));
  return { dir: found[0]!, hostDir: true };
}

async function readCrossTags(tree: FleetTree, tags: { name: string; file: string; line: number; column: number }[], rootDirs: string[], issues: ValidationIssue[], keys: LayerKeys): Promise<Layer[]> {
  if (tags.length === 0) return [];
  const available = (await listDir(tree, CROSS_TAGS_DIR)).dirs;
  const layers: Layer[] = [];
  for (const tag of tags) {
    if (!available.includes(tag.name)) {
      const near = nearestNames(tag.name, available);
      issues.push(issue(tag.file, tag, 'UNKNOWN_TAG', `cross-cutting tag "${tag.name}" has no directory ${CROSS_TAGS_DIR}/${tag.name}/${near.length ? ` — did you mean "${near[0]}"?` : ''}`));
      continue;
    }
    if (rootDirs.includes(tag.name)) issues.push(crossTagCollision(tag.name));
    const listing = await listDir(tree, relJoin(CROSS_TAGS_DIR, tag.name));
    layers.push(await readLayer(tree, listing, false, layoutIssues(listing, 'cross'), keys));
  }
  return layers;
}

