// A layer is one directory's files taken together (the tree root, a tag
// directory, a cross-cutting tag, or a host directory). Within a layer the
// order of files carries no meaning, so declaring the same resource, variable
// or default twice in one layer is an error rather than a silent winner.
import type { ResourceId } from '../../shared/resources.ts';
import type { ComposeDoc } from '../compose/compose-file.ts';
import type { ValidationIssue } from './issues.ts';
import { issue } from './issues.ts';
import type { DriftDefault, HostSettings, LayerFile, Located, ResourceEntry, VarDef } from './layer-file.ts';

export interface Layer {
  /** Relative to the tree root: '' (root), 'prod/eu', 'tags/gpu', 'prod/eu/web-01'. */
  dir: string;
  entries: Map<ResourceId, ResourceEntry>;
  vars: Map<string, VarDef>;
  drift: DriftDefault | null;
  /** The parsed host.yaml of a host layer. */
  host: HostSettings | null;
  /** Issues of the layer's files and of the layer as a whole. */
  issues: ValidationIssue[];
  /** Plaintext values decrypted from the layer's *.sops.yaml files (docs/secrets.md). */
  secrets: string[];
  /** The layer's Compose files: the base file, then its overrides by name (docs/compose.md). */
  compose?: ComposeDoc[];
}

const where = (l: Located) => `${l.file}:${l.line}`;

export function buildLayer(dir: string, files: LayerFile[]): Layer {
  const layer: Layer = { dir, entries: new Map(), vars: new Map(), drift: null, host: null, issues: [], secrets: [] };
  for (const f of files) {
    layer.issues.push(...f.issues);
    if (f.secrets) layer.secrets.push(...f.secrets);
    if (f.host) layer.host = f.host;
    if (f.compose) addCompose(layer, f.compose);
    for (const e of f.entries) {
      const first = layer.entries.get(e.id);
      if (first) {
        layer.issues.push(issue(e.file, e, 'DUPLICATE_RESOURCE', `${e.kind} "${e.name}" is declared twice in one layer: in ${where(first)} and ${where(e)}`));
      } else {
        layer.entries.set(e.id, e);
      }
    }
    for (const v of f.vars) {
      const first = layer.vars.get(v.name);
      if (first) {
        layer.issues.push(issue(v.file, v, 'DUPLICATE_SETTING', `variable "${v.name}" is set twice in one layer: in ${where(first)} and ${where(v)}`));
      } else {
        layer.vars.set(v.name, v);
      }
    }
    if (f.drift) {
      if (layer.drift) {
        layer.issues.push(issue(f.drift.file, f.drift, 'DUPLICATE_SETTING', `defaults.drift is set twice in one layer: in ${where(layer.drift)} and ${where(f.drift)}`));
      } else {
        layer.drift = f.drift;
      }
    }
  }
  return layer;
}

function addCompose(layer: Layer, doc: ComposeDoc): void {
  const docs = (layer.compose ??= []);
  const base = docs.find((d) => d.role === 'base');
  if (doc.role === 'base' && base) {
    layer.issues.push(issue(doc.file, { line: 1, column: 1 }, 'DUPLICATE_RESOURCE', `two Compose base files in one directory: ${base.file} and ${doc.file}; keep one (overrides are compose.NAME.yaml)`));
    return;
  }
  docs.push(doc);
  // The base file first, then overrides in name order, as `-f base -f o1 -f o2`.
  docs.sort((a, b) => (a.role !== b.role ? (a.role === 'base' ? -1 : 1) : a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
