// validateTree: every error in the tree, found by evaluating every declared
// host (and every place-only group) the way its agent would. Each file is
// read and parsed once; each directory's layer is built once and shared by
// all hosts below it.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ValidationIssue } from './issues.ts';
import { issue, normalizeIssues, wholeFile } from './issues.ts';
import type { Evaluation, HostPlacement } from './evaluate.ts';
import { evaluateHost } from './evaluate.ts';
import type { Layer } from './layer.ts';
import { scanTree } from './layout.ts';
import { IO_PARALLELISM, mapLimit } from './concurrency.ts';
import { nearestNames } from './nearest.ts';
import { readLayer } from './read-layer.ts';
import { CROSS_TAGS_DIR, openTree, relJoin } from './tree-fs.ts';

export interface DeclaredHost {
  id: string;
  /** Relative to the tree root. */
  dir: string;
  pathTags: string[];
  crossTags: string[];
}

export interface TreeSummary {
  issues: ValidationIssue[];
  hosts: DeclaredHost[];
  /** Path tags (directories) and cross-cutting tags (names under tags/), sorted. */
  tags: string[];
  /** Place-only groups that were evaluated as a place (leaf tag directories without hosts). */
  places: string[];
}

/** Lists dir, dir's parent… up to (not including) the root: 'a/b/c' → ['a', 'a/b']. */
function ancestors(dir: string): string[] {
  const parts = dir.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

export interface ValidateOptions {
  /** Called with each declared host's evaluation and layers (the impact preview renders every host this way, in one pass). */
  onHost?: (host: DeclaredHost, evaluation: Evaluation, layers: Layer[]) => void;
}

export async function validateTree(treeRoot: string, options: ValidateOptions = {}): Promise<TreeSummary> {
  const tree = await openTree(treeRoot);
  if (!tree) {
    return { issues: [issue('./', wholeFile, 'FILE_UNREADABLE', `the fleet tree ${treeRoot} is not a readable directory`)], hosts: [], tags: [], places: [] };
  }
  const scan = await scanTree(tree);
  const issues: ValidationIssue[] = [...scan.issues];
  const hostDirs = [...scan.hostDirs.values()].flat();
  const isHost = new Set(hostDirs);

  // Every directory's layer, once: the root, path tags, cross-cutting tags, hosts.
  const layerDirs = [...scan.listings.keys()].filter((d) => d !== CROSS_TAGS_DIR);
  const built = await mapLimit(layerDirs, IO_PARALLELISM, (dir) => readLayer(tree, scan.listings.get(dir)!, isHost.has(dir)));
  const layers = new Map<string, Layer>(built.map((l) => [l.dir, l]));
  for (const l of built) issues.push(...l.issues);

  const rootLayer = layers.get('')!;
  const crossAvailable = new Set(scan.crossTags);
  const grouped = new Map<string, { issue: ValidationIssue; subjects: string[] }>();
  const evaluate = (placement: HostPlacement, subject: string): Evaluation => {
    const evaluation = evaluateHost(placement);
    for (const i of evaluation.issues) {
      const key = `${i.file}\0${i.line}\0${i.column}\0${i.code}\0${i.message}`;
      const g = grouped.get(key);
      if (g) g.subjects.push(subject);
      else grouped.set(key, { issue: i, subjects: [subject] });
    }
    return evaluation;
  };

  const hosts: DeclaredHost[] = [];
  let sinceYield = 0;
  for (const dir of hostDirs.sort()) {
    // Evaluating 10,000 hosts takes a while: let the event loop breathe.
    if (++sinceYield === 200) {
      sinceYield = 0;
      await yieldToEventLoop();
    }
    const id = dir.slice(dir.lastIndexOf('/') + 1);
    const hostLayer = layers.get(dir)!;
    const pathTags = ancestors(dir);
    const crossLayers: Layer[] = [];
    const crossTags: string[] = [];
    for (const tag of hostLayer.host?.tags ?? []) {
      if (!crossAvailable.has(tag.name)) {
        const near = nearestNames(tag.name, crossAvailable);
        issues.push(issue(tag.file, tag, 'UNKNOWN_TAG', `cross-cutting tag "${tag.name}" has no directory ${CROSS_TAGS_DIR}/${tag.name}/${near.length ? ` — did you mean "${near[0]}"?` : ''}`));
        continue;
      }
      crossTags.push(tag.name);
      crossLayers.push(layers.get(relJoin(CROSS_TAGS_DIR, tag.name))!);
    }
    const declared: DeclaredHost = { id, dir, pathTags, crossTags };
    hosts.push(declared);
    const hostLayers = [rootLayer, ...pathTags.map((t) => layers.get(t)!), ...crossLayers, hostLayer];
    const evaluation = evaluate({ host: id, place: dir, pathTags, crossTags, layers: hostLayers }, `host ${id}`);
    options.onHost?.(declared, evaluation, hostLayers);
  }

  // A leaf tag directory with no host below it is only useful as a place.
  const places = scan.pathTags.filter((t) => (scan.listings.get(t)?.dirs.length ?? 0) === 0);
  for (const place of places) {
    const pathTags = [...ancestors(place), place];
    evaluate({ host: 'place-host', place, pathTags, crossTags: [], layers: [rootLayer, ...pathTags.map((t) => layers.get(t)!)] }, `place ${place}`);
  }

  for (const { issue: i, subjects } of grouped.values()) {
    const shown = subjects.slice(0, 3).join(', ');
    const more = subjects.length > 3 ? ` and ${subjects.length - 3} more` : '';
    issues.push({ ...i, message: `${i.message} (for ${shown}${more})` });
  }
  return {
    issues: normalizeIssues(issues),
    hosts: hosts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.dir < b.dir ? -1 : 1)),
    tags: [...scan.pathTags, ...scan.crossTags].sort(),
    places,
  };
}
