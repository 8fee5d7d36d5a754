// Change detection by content: a stable hash of the normalized desired spec.
// Keys that do not shape the live object (drift policy, ordering, pull policy,
// run state) are left out, so changing them never recreates anything.
import { createHash } from 'node:crypto';
import type { ContainerSpec, FileSpec, UnitSpec } from '../../shared/resources.ts';

/** JSON with object keys sorted at every depth, so key order in YAML never matters. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const containerIgnored = new Set(['drift', 'depends_on', 'pull', 'state']);
/** The container keys the config hash leaves out (agent/engine/container-fields.ts diffs the others). */
export const containerHashIgnores: ReadonlySet<string> = containerIgnored;
const unitIgnored = new Set(['drift', 'depends_on', 'enabled', 'state']);
const fileIgnored = new Set(['drift', 'depends_on', 'notify']);

function without(spec: object, ignored: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).filter(([k]) => !ignored.has(k)));
}

/** The config-hash label of a container: equal hashes mean "no recreate". */
export function containerHash(spec: ContainerSpec): string {
  return sha256(canonicalJson(without(spec, containerIgnored))).slice(0, 32);
}

export function unitHash(spec: UnitSpec): string {
  return sha256(canonicalJson(without(spec, unitIgnored))).slice(0, 32);
}

export function fileHash(spec: FileSpec): string {
  return sha256(canonicalJson(without(spec, fileIgnored))).slice(0, 32);
}
