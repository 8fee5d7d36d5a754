// What differs between one host's desired state at two revisions, resource by
// resource: added, removed, or changed with the fields that differ. What the
// agent acts on is compared (spec, drift policy, dependencies); where a
// resource is declared (file, line) is not: moving a declaration changes no host.
import type { DesiredResource, DesiredState } from '../../shared/resources.ts';
import { ENCRYPTED_SUFFIX } from '../secrets/encrypted-layer.ts';
import type { FieldChange, ResourceChange } from './types.ts';

/** Fields listed per changed resource; the rest are counted. */
export const MAX_FIELDS = 20;
/** Longer string values are cut in a field change (file contents, scripts). */
export const MAX_VALUE_CHARS = 200;

function compared(r: DesiredResource): Record<string, unknown> {
  return { ...(r.spec as Record<string, unknown>), drift: r.drift, depends_on: r.dependsOn };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => same(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => same(a[k], b[k]));
  }
  return false;
}

const keyPath = (base: string, key: string) => (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? (base === '' ? key : `${base}.${key}`) : `${base}[${JSON.stringify(key)}]`);

/** Every leaf that differs; arrays of different lengths (or of objects) differ whole. */
export function fieldChanges(from: unknown, to: unknown, base = '', out: FieldChange[] = []): FieldChange[] {
  if (same(from, to)) return out;
  if (isObject(from) && isObject(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    for (const k of keys) fieldChanges(from[k], to[k], keyPath(base, k), out);
    return out;
  }
  if (Array.isArray(from) && Array.isArray(to) && from.length === to.length && from.every((v) => !isObject(v) && !Array.isArray(v))) {
    from.forEach((v, i) => fieldChanges(v, to[i], `${base}[${i}]`, out));
    return out;
  }
  const change: FieldChange = { path: base };
  let cut = false;
  const shown = (v: unknown): unknown => {
    if (typeof v === 'string' && v.length > MAX_VALUE_CHARS) {
      cut = true;
      return `${v.slice(0, MAX_VALUE_CHARS)}… (${v.length} characters)`;
    }
    return v;
  };
  if (from !== undefined) change.from = shown(from);
  if (to !== undefined) change.to = shown(to);
  if (cut) change.cut = true;
  out.push(change);
  return out;
}

function base(r: DesiredResource, change: ResourceChange['change']): ResourceChange {
  return { id: r.id, kind: r.kind, name: r.name, change, source: { file: r.source.file, line: r.source.line } };
}

/**
 * The resource changes of one host, in the apply order of `to` then removals.
 * `changedFiles` (tree-relative paths changed between the revisions) lets an
 * encrypted resource whose shown fields are equal be flagged as possibly changed.
 */
export function diffResources(from: DesiredState | null, to: DesiredState | null, changedFiles?: ReadonlySet<string>): ResourceChange[] {
  const before = new Map((from?.resources ?? []).map((r) => [r.id, r]));
  // A secret resource may take its values from any encrypted file of the host's layers (a variable).
  const layers = new Set([...(from?.layers ?? []), ...(to?.layers ?? [])]);
  const encryptedLayerChanged = [...(changedFiles ?? [])].some((f) => isEncryptedFile(f) && layers.has(dirOf(f)));
  const out: ResourceChange[] = [];
  for (const r of to?.resources ?? []) {
    const old = before.get(r.id);
    before.delete(r.id);
    const secret = r.secret === true || old?.secret === true;
    if (!old) {
      out.push({ ...base(r, 'added'), ...(secret ? { secret: true as const } : {}) });
      continue;
    }
    const fields = fieldChanges(compared(old), compared(r));
    const encryptedChanged = secret && encryptedLayerChanged;
    if (fields.length === 0 && !encryptedChanged) continue;
    const change: ResourceChange = base(r, 'changed');
    change.fields = fields.slice(0, MAX_FIELDS);
    if (fields.length > MAX_FIELDS) change.moreFields = fields.length - MAX_FIELDS;
    if (secret) change.secret = true;
    if (encryptedChanged) change.encryptedChanged = true;
    out.push(change);
  }
  for (const r of before.values()) out.push({ ...base(r, 'removed'), ...(r.secret ? { secret: true as const } : {}) });
  return out;
}

function isEncryptedFile(file: string): boolean {
  return file.endsWith(ENCRYPTED_SUFFIX);
}

function dirOf(file: string): string {
  const slash = file.lastIndexOf('/');
  return slash < 0 ? '' : file.slice(0, slash);
}
