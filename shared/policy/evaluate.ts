// Checks a host's desired state against its effective policy: every violation,
// each naming the resource, where it is declared and the rule. Pure and
// deterministic, so a refused revision is refused the same way on every try.
import type { ContainerResource, DesiredResource, DesiredState, FileResource, UnitResource } from '../resources.ts';
import { CONTAINER_SECRETS_DIR, isContainerSecretPath } from '../resources.ts';
import { globMatch } from './glob.ts';
import { dirCovers } from './narrow.ts';
import type { Policy, PolicyRule } from './schema.ts';
import { normalizeCapability, sizeBytes } from './schema.ts';
import { unitAssignments } from '../unit-file.ts';

export interface Violation {
  rule: PolicyRule;
  /** `container/web`, or '' for a rule about the whole revision (counts). */
  resource: string;
  file: string;
  line: number;
  message: string;
}

/** `nginx` → docker.io/library/nginx; `ghcr.io/a/b:1@sha256:…` → ghcr.io/a/b (Docker's normalization). */
export function imageRepository(image: string): { repository: string; digest: boolean } {
  const at = image.indexOf('@');
  const digest = at >= 0 && /^sha256:[0-9a-f]{64}$/.test(image.slice(at + 1));
  let name = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > lastSlash) name = name.slice(0, colon); // the tag
  const first = name.split('/')[0]!;
  const hasRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return { repository: name, digest };
  return { repository: `docker.io/${name.includes('/') ? name : `library/${name}`}`, digest };
}

function normalPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** The path and every directory above it, longest first: /a/b → /a/b, /a, /. */
function selfAndAncestors(path: string): string[] {
  const out = [path];
  let p = path;
  while (p !== '/') {
    p = p.slice(0, p.lastIndexOf('/')) || '/';
    out.push(p);
  }
  return out;
}

/**
 * A bind source exposes a denied path when it is that path, a directory above
 * it (mounting /var/run exposes /var/run/docker.sock), or — for an entry `X/**`
 * — anything inside X.
 */
export function mountDenied(source: string, deny: readonly string[]): string | null {
  const src = normalPath(source);
  const chain = selfAndAncestors(src);
  for (const entry of deny) {
    const inside = entry.endsWith('/**');
    const literal = inside ? entry.slice(0, -3) || '/' : entry;
    if (inside ? chain.some((p) => matches(literal, p)) : matches(entry, src)) return entry;
    // The source is a directory above a literal denied path.
    if (!isGlob(literal) && literal !== src && dirCovers(src, literal)) return entry;
  }
  return null;
}

/** A file path is denied when a deny glob matches it or a directory above it. */
export function fileDenied(path: string, deny: readonly string[]): string | null {
  const chain = selfAndAncestors(path);
  for (const entry of deny) if (chain.some((p) => matches(entry, p))) return entry;
  return null;
}

// Most entries are plain paths: compared as strings, the glob engine only for the rest.
function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

function matches(pattern: string, text: string): boolean {
  return isGlob(pattern) ? globMatch(pattern, text) : pattern === text;
}

type Emit = (rule: PolicyRule, message: string) => void;

function bindSources(volumes: readonly string[] | undefined): string[] {
  return (volumes ?? []).map((v) => v.split(':')).filter((parts) => parts.length >= 2 && parts[0]!.startsWith('/')).map((parts) => parts[0]!);
}

function isRootUser(user: string | undefined): boolean {
  if (user === undefined || user.trim() === '') return true;
  const name = user.trim().split(':')[0]!;
  return name === 'root' || name === '0';
}

function checkContainer(p: NonNullable<Policy['containers']>, r: ContainerResource, emit: Emit): void {
  const s = r.spec;
  const { repository, digest } = imageRepository(s.image);
  if (p.images && !p.images.some((g) => globMatch(g, repository))) emit('containers.image', `image ${s.image} (${repository}) is not from an allowed registry/repository (${p.images.join(', ') || 'none allowed'})`);
  if (p.requireDigest && !digest) emit('containers.image-digest', `image ${s.image} is not pinned by digest (@sha256:…)`);
  if (s.privileged === true && p.allowPrivileged === false) emit('containers.privileged', 'privileged: true is not allowed');
  // network_mode is the Compose name of network: the same rule for both.
  if ((s.network ?? s.network_mode) === 'host' && p.allowHostNetwork === false) emit('containers.host-network', 'network: host is not allowed');
  if (p.devices) {
    for (const device of s.devices ?? []) {
      const hostPath = device.split(':')[0]!;
      if (!p.devices.some((g) => globMatch(g, normalPath(hostPath)))) emit('containers.devices', `device ${hostPath} is not allowed (${p.devices.join(', ') || 'none allowed'})`);
    }
  }
  if (p.capAdd) {
    for (const cap of s.cap_add ?? []) {
      const name = normalizeCapability(cap);
      if (!p.capAdd.includes('ALL') && !p.capAdd.includes(name)) emit('containers.cap-add', `cap_add ${cap} is not allowed (${p.capAdd.join(', ') || 'none allowed'})`);
    }
  }
  if (p.denyMounts) {
    for (const source of bindSources(s.volumes)) {
      // Its own secrets only: another container's directory stays behind denyMounts (/var/lib/gitfleet/** in the baseline).
      if (normalPath(source).startsWith(`${CONTAINER_SECRETS_DIR}/${r.name}/`)) continue;
      const hit = mountDenied(source, p.denyMounts);
      if (hit !== null) emit('containers.mounts', `bind mount of ${source} is denied (${hit})`);
    }
  }
  if (p.allowRootUser === false && isRootUser(s.user)) emit('containers.user', s.user === undefined ? 'user is not set (the image may run as root); set a non-root user' : `user ${s.user} is root`);
}

const execKey = /^(ExecStart|ExecStartPre|ExecStartPost|ExecCondition|ExecReload|ExecStop|ExecStopPost)$/;

/** Every Exec*= line of the unit file and its drop-ins (each line counts, unlike later-wins settings), and the last User=. */
function unitCommands(texts: readonly string[]): { execs: { key: string; command: string }[]; user: string | undefined } {
  const execs: { key: string; command: string }[] = [];
  let user: string | undefined;
  for (const { key, value } of unitAssignments(texts)) {
    if (key === 'User') user = value === '' ? undefined : value;
    else if (execKey.test(key) && value !== '') execs.push({ key, command: value });
  }
  return { execs, user };
}

function checkUnit(p: NonNullable<Policy['units']>, r: UnitResource, emit: Emit): void {
  if (p.names && !p.names.some((g) => globMatch(g, r.name))) emit('units.name', `unit name ${r.name} is not allowed (${p.names.join(', ') || 'none allowed'})`);
  const texts = [...(r.spec.content === undefined ? [] : [r.spec.content]), ...Object.values(r.spec.dropins ?? {})];
  const { execs, user } = unitCommands(texts);
  if (p.allowRootUser === false && execs.length > 0) {
    if (isRootUser(user)) emit('units.user', user === undefined ? 'runs commands (Exec*=) without User=, so as root; set User= to a non-root user' : `User=${user} is root`);
    for (const e of execs) if (/^[@:-]*[+!]/.test(e.command)) emit('units.user', `${e.key}=${e.command.slice(0, 80)} runs with full privileges (+ or ! prefix)`);
  }
  if (p.execStart) {
    for (const e of execs) {
      const executable = e.command.replace(/^[@:+!-]+/, '').split(/\s+/)[0] ?? '';
      if (!p.execStart.some((g) => globMatch(g, executable))) emit('units.exec', `${e.key} runs ${executable || '(nothing)'}, which is not allowed (${p.execStart.join(', ') || 'none allowed'})`);
    }
  }
}

function checkFile(p: NonNullable<Policy['files']>, r: FileResource, emit: Emit): void {
  // A container's secrets (the reserved directory holds nothing else) are part of the container, not files.allow's business.
  if (p.allow && !isContainerSecretPath(r.name) && !p.allow.some((dir) => dirCovers(dir, r.name) && dir !== r.name)) emit('files.path', `${r.name} is outside the allowed directories (${p.allow.join(', ') || 'none allowed'})`);
  if (p.deny) {
    const hit = fileDenied(r.name, p.deny);
    if (hit !== null) emit('files.denied-path', `${r.name} is a denied path (${hit})`);
  }
  if (p.maxSize !== undefined) {
    const limit = sizeBytes(p.maxSize);
    const size = utf8.encode(r.spec.content).length;
    if (size > limit) emit('files.size', `${r.name} is ${size} bytes; the limit is ${limit}`);
  }
}

const utf8 = new TextEncoder();

const countRule = { container: 'containers.count', unit: 'units.count', file: 'files.count' } as const;

/** Every violation of `policy` by `desired`, in declaration order. */
export function evaluatePolicy(policy: Policy, desired: DesiredState): Violation[] {
  const out: Violation[] = [];
  const counts = { container: 0, unit: 0, file: 0, network: 0, volume: 0 };
  for (const r of desired.resources) {
    counts[r.kind]++;
    const emit: Emit = (rule, message) => out.push({ rule, resource: r.id, file: r.source.file, line: r.source.line, message });
    checkResource(policy, r, emit);
  }
  const limits = { container: policy.containers?.max, unit: policy.units?.max, file: policy.files?.max };
  for (const kind of ['container', 'unit', 'file'] as const) {
    const limit = limits[kind];
    if (limit !== undefined && counts[kind] > limit) {
      const last = desired.resources.filter((r) => r.kind === kind).at(-1)!;
      out.push({ rule: countRule[kind], resource: '', file: last.source.file, line: last.source.line, message: `${counts[kind]} ${kind}s declared; the limit is ${limit}` });
    }
  }
  return out;
}

function checkResource(policy: Policy, r: DesiredResource, emit: Emit): void {
  if (r.kind === 'container' && policy.containers) checkContainer(policy.containers, r, emit);
  else if (r.kind === 'unit' && policy.units) checkUnit(policy.units, r, emit);
  else if (r.kind === 'file' && policy.files) checkFile(policy.files, r, emit);
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}  ${v.rule}  ${v.resource ? `${v.resource}: ` : ''}${v.message}`;
}
