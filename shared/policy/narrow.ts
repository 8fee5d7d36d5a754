// The effective policy of a host: its own policy, narrowed by every repo
// policy.yaml on its path. A repo policy may only narrow: each key it sets
// must allow no more than the policy above it, and a key that would allow
// more is an error (reported at that key), never silently intersected away —
// a committer who thinks they widened something must learn they did not.
//
// Per kind of key: booleans (allow*: false narrows), numbers (max, maxSize: a
// smaller one narrows), requireDigest (true narrows), allow-lists (every entry
// must be covered by an entry above; the repo's list replaces the one above),
// deny-lists (the repo's entries are added; nothing can be removed).
import { globCovers } from './glob.ts';
import type { ContainerPolicy, FilePolicy, Policy, UnitPolicy } from './schema.ts';
import { sizeBytes } from './schema.ts';

export interface Widening {
  /** The key in the repo policy, e.g. ['containers', 'images', 2]. */
  path: (string | number)[];
  message: string;
}

export interface Narrowed {
  policy: Policy;
  widenings: Widening[];
}

/** Directory containment: `inner` is `outer` or inside it. */
export function dirCovers(outer: string, inner: string): boolean {
  return outer === '/' || inner === outer || inner.startsWith(`${outer}/`);
}

type Out = Record<string, unknown>;

function bool(out: Out, key: string, above: boolean | undefined, below: boolean | undefined, at: (string | number)[], w: Widening[], narrowIs: boolean): void {
  if (below === undefined) {
    if (above !== undefined) out[key] = above;
    return;
  }
  // `narrowIs` is the narrowing value: false for allow*, true for requireDigest.
  if (above === narrowIs && below !== narrowIs) w.push({ path: [...at, key], message: `${[...at, key].join('.')}: ${String(below)} widens the policy above (${String(above)})` });
  out[key] = above === narrowIs ? narrowIs : below;
}

function max(out: Out, key: string, above: number | undefined, below: number | undefined, at: (string | number)[], w: Widening[], show: (n: number) => string = String): void {
  if (below === undefined) {
    if (above !== undefined) out[key] = above;
    return;
  }
  if (above !== undefined && below > above) w.push({ path: [...at, key], message: `${[...at, key].join('.')}: ${show(below)} is more than the policy above allows (${show(above)})` });
  out[key] = above === undefined ? below : Math.min(above, below);
}

function allowList(out: Out, key: string, above: readonly string[] | undefined, below: readonly string[] | undefined, at: (string | number)[], w: Widening[], covers: (outer: string, inner: string) => boolean): void {
  if (below === undefined) {
    if (above !== undefined) out[key] = [...above];
    return;
  }
  if (above === undefined) {
    out[key] = [...below];
    return;
  }
  const kept: string[] = [];
  below.forEach((entry, i) => {
    if (above.some((a) => covers(a, entry))) kept.push(entry);
    else w.push({ path: [...at, key, i], message: `${[...at, key].join('.')}: "${entry}" is not within what the policy above allows (${above.length ? above.map((a) => `"${a}"`).join(', ') : 'nothing'})` });
  });
  out[key] = kept;
}

function denyList(out: Out, key: string, above: readonly string[] | undefined, below: readonly string[] | undefined): void {
  if (above === undefined && below === undefined) return;
  out[key] = [...new Set([...(above ?? []), ...(below ?? [])])];
}

const capCovers = (outer: string, inner: string) => outer === 'ALL' || outer === inner;

function containers(a: ContainerPolicy = {}, b: ContainerPolicy = {}, w: Widening[]): ContainerPolicy {
  const at = ['containers'];
  const out: Out = {};
  allowList(out, 'images', a.images, b.images, at, w, globCovers);
  bool(out, 'requireDigest', a.requireDigest, b.requireDigest, at, w, true);
  bool(out, 'allowPrivileged', a.allowPrivileged, b.allowPrivileged, at, w, false);
  bool(out, 'allowHostNetwork', a.allowHostNetwork, b.allowHostNetwork, at, w, false);
  allowList(out, 'devices', a.devices, b.devices, at, w, globCovers);
  allowList(out, 'capAdd', a.capAdd, b.capAdd, at, w, capCovers);
  denyList(out, 'denyMounts', a.denyMounts, b.denyMounts);
  bool(out, 'allowRootUser', a.allowRootUser, b.allowRootUser, at, w, false);
  max(out, 'max', a.max, b.max, at, w);
  return out as ContainerPolicy;
}

function units(a: UnitPolicy = {}, b: UnitPolicy = {}, w: Widening[]): UnitPolicy {
  const at = ['units'];
  const out: Out = {};
  allowList(out, 'names', a.names, b.names, at, w, globCovers);
  bool(out, 'allowRootUser', a.allowRootUser, b.allowRootUser, at, w, false);
  allowList(out, 'execStart', a.execStart, b.execStart, at, w, globCovers);
  max(out, 'max', a.max, b.max, at, w);
  return out as UnitPolicy;
}

function files(a: FilePolicy = {}, b: FilePolicy = {}, w: Widening[]): FilePolicy {
  const at = ['files'];
  const out: Out = {};
  allowList(out, 'allow', a.allow, b.allow, at, w, dirCovers);
  denyList(out, 'deny', a.deny, b.deny);
  const sizeA = a.maxSize === undefined ? undefined : sizeBytes(a.maxSize);
  const sizeB = b.maxSize === undefined ? undefined : sizeBytes(b.maxSize);
  max(out, 'maxSize', sizeA, sizeB, at, w, (n) => `${n} bytes`);
  max(out, 'max', a.max, b.max, at, w);
  return out as FilePolicy;
}

function section<T extends object>(value: T): T | undefined {
  return Object.keys(value).length > 0 ? value : undefined;
}

/** `above` narrowed by `below`; `widenings` lists every key of `below` that tried to allow more. */
export function narrowPolicy(above: Policy, below: Policy): Narrowed {
  const widenings: Widening[] = [];
  const c = section(containers(above.containers, below.containers, widenings));
  const u = section(units(above.units, below.units, widenings));
  const f = section(files(above.files, below.files, widenings));
  return { policy: { ...(c ? { containers: c } : {}), ...(u ? { units: u } : {}), ...(f ? { files: f } : {}) }, widenings };
}

/**
 * Two directory allow-lists intersected exactly: what both allow. For the
 * agent config's `files.allow` (the file driver's fence) with the policy's.
 */
export function intersectDirs(a: readonly string[], b: readonly string[]): string[] {
  const out = new Set<string>();
  for (const x of a) for (const y of b) {
    if (dirCovers(x, y)) out.add(y);
    else if (dirCovers(y, x)) out.add(x);
  }
  return [...out].sort();
}
