// Field-level container diffs. A running container carries only the hash of
// the spec it was created from (its config-hash label), so "which fields
// change" needs a record of that spec: when a container is in sync the agent
// keeps, in its inventory, one short value per field of the spec it applied
// (`env.FOO`, `image`, `ports`…). `plan` and the status compare that record
// with the desired spec. A value holding a secret is recorded only as a salted
// digest and shown as «secret» / "changed" (docs/secrets.md); a long value is
// cut and carries a digest, so a change past the cut is still seen.
import type { ContainerSpec } from '../../shared/resources.ts';
import { MASK } from '../../shared/secrets/mask.ts';
import type { FieldDiff } from '../../shared/status.ts';
import { STATUS_LIMITS } from '../../shared/status.ts';
import { canonicalJson, containerHash, containerHashIgnores, sha256 } from './hash.ts';

/** What the inventory keeps of an applied container spec. */
export interface ContainerFieldRecord {
  /** The config hash the record belongs to: it describes a live container only when its label matches. */
  configHash: string;
  values: Record<string, string>;
}

/** Longer values are cut to this many characters plus a digest. */
const MAX_SHOWN = 200;
const SECRET_PREFIX = `${MASK} `;

function shown(value: unknown): string {
  return typeof value === 'string' ? value : canonicalJson(value);
}

/** Top-level keys, and one level into maps (`env.FOO`, `labels.x`, `logging.driver`). */
function flatten(spec: ContainerSpec): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(spec)) {
    if (value === undefined || containerHashIgnores.has(key)) continue;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [sub, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) out.push([`${key}.${sub}`, shown(v)]);
    } else out.push([key, shown(value)]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The record of `spec` for resource `id`; `taints` says whether a text holds
 * a secret (processSecrets.taints). The digest is salted with the resource id
 * so the same secret in two containers records two different values.
 */
export function recordContainerFields(id: string, spec: ContainerSpec, taints: (text: string) => boolean): ContainerFieldRecord {
  const values: Record<string, string> = {};
  for (const [field, value] of flatten(spec)) {
    if (taints(value) || taints(field)) values[field] = `${SECRET_PREFIX}${sha256(`${id}\n${field}\n${value}`).slice(0, 16)}`;
    else values[field] = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}… (sha256 ${sha256(value).slice(0, 12)})` : value;
  }
  return { configHash: containerHash(spec), values };
}

const isSecret = (value: string | undefined): boolean => value !== undefined && value.startsWith(SECRET_PREFIX);

/**
 * The fields that differ between the applied record and the desired one:
 * `live` null for a field added, `desired` null for a field removed. A secret
 * shows as «secret» (desired) and "changed" (live), never its value.
 */
export function diffContainerFields(applied: ContainerFieldRecord, desired: ContainerFieldRecord): FieldDiff[] {
  const fields = [...new Set([...Object.keys(applied.values), ...Object.keys(desired.values)])].sort();
  const diffs: FieldDiff[] = [];
  for (const field of fields) {
    const live = applied.values[field];
    const want = desired.values[field];
    if (live === want) continue;
    const secret = isSecret(live) || isSecret(want);
    diffs.push({
      field,
      desired: want === undefined ? null : secret ? MASK : want,
      live: live === undefined ? null : secret ? (want === undefined ? MASK : 'changed') : live,
    });
  }
  // The status bounds the diffs of one resource; the last entry says how many more there are.
  if (diffs.length > STATUS_LIMITS.diffsPerResource) {
    const more = diffs.length - (STATUS_LIMITS.diffsPerResource - 1);
    return [...diffs.slice(0, STATUS_LIMITS.diffsPerResource - 1), { field: `(${more} more fields)`, desired: null, live: null }];
  }
  return diffs;
}
