// The policy format (docs/policy.md): what this host lets a commit do. The
// same schema reads the host's /etc/gitfleet/policy.yaml and a fleet repo's
// policy.yaml files; a key left out places no restriction of its own (the
// host's file, installed from packaging/policy.yaml, sets the baseline).
import { z } from 'zod';
import { ByteSize } from '../resources.ts';

// Bounded: a repo policy is text a committer wrote.
const MAX_ENTRIES = 1000;
const glob = z.string().min(1).max(1024);
const globs = z.array(glob).max(MAX_ENTRIES);
const absoluteGlob = glob.regex(/^\//, 'an absolute path (starting with /)');
const absoluteDir = z
  .string()
  .max(4096)
  .regex(/^\/(?:[^/\0]+(?:\/[^/\0]+)*)?$/, 'an absolute normalized directory (no trailing /, no //)')
  .refine((p) => !p.split('/').some((part) => part === '.' || part === '..'), "an absolute normalized directory (no '.' or '..' parts)");
const capability = z.string().regex(/^(CAP_)?[A-Za-z_]+$/, 'a capability name like NET_BIND_SERVICE or ALL').transform(normalizeCapability);
const count = z.number().int().nonnegative().max(1_000_000);

export function normalizeCapability(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

export const ContainerPolicy = z.strictObject({
  /** Allowed images as `registry/repository` globs (docker.io/library/nginx, ghcr.io/acme/*). */
  images: globs.optional(),
  /** Images must be pinned by digest (`@sha256:…`). */
  requireDigest: z.boolean().optional(),
  allowPrivileged: z.boolean().optional(),
  /** `network: host`. */
  allowHostNetwork: z.boolean().optional(),
  /** Host device paths a container may be given (globs); [] allows none. */
  devices: z.array(absoluteGlob).max(MAX_ENTRIES).optional(),
  /** Capabilities `cap_add` may name; [] allows none. */
  capAdd: z.array(capability).max(MAX_ENTRIES).optional(),
  /** Host paths no bind mount may expose (globs; `X/**` also denies everything inside X). */
  denyMounts: z.array(absoluteGlob).max(MAX_ENTRIES).optional(),
  /** false: `user` must be set to someone other than root/0. */
  allowRootUser: z.boolean().optional(),
  max: count.optional(),
});

export const UnitPolicy = z.strictObject({
  /** Unit names the repo may declare (globs). */
  names: globs.optional(),
  /** false: every unit that runs a command (Exec*=) must set User= to someone other than root/0, and no Exec*=+/! prefixes. */
  allowRootUser: z.boolean().optional(),
  /** Executables Exec*= lines may run (path globs). */
  execStart: z.array(absoluteGlob).max(MAX_ENTRIES).optional(),
  max: count.optional(),
});

export const FilePolicy = z.strictObject({
  /** Directories file resources may be written under (what the agent config `files.allow` set before). */
  allow: z.array(absoluteDir).max(MAX_ENTRIES).optional(),
  /** Paths denied even inside `allow` (globs; a match on the path or any directory above it). */
  deny: z.array(absoluteGlob).max(MAX_ENTRIES).optional(),
  /** The largest file content, e.g. 1m. */
  maxSize: ByteSize.optional(),
  max: count.optional(),
});

export const PolicySchema = z.strictObject({
  containers: ContainerPolicy.optional(),
  units: UnitPolicy.optional(),
  files: FilePolicy.optional(),
});

export type Policy = z.infer<typeof PolicySchema>;
export type ContainerPolicy = z.infer<typeof ContainerPolicy>;
export type UnitPolicy = z.infer<typeof UnitPolicy>;
export type FilePolicy = z.infer<typeof FilePolicy>;

/** The stable rule names, used in every refusal and in docs/policy.md. */
export const policyRules = [
  'containers.image',
  'containers.image-digest',
  'containers.privileged',
  'containers.host-network',
  'containers.devices',
  'containers.cap-add',
  'containers.mounts',
  'containers.user',
  'containers.count',
  'units.name',
  'units.user',
  'units.exec',
  'units.count',
  'files.path',
  'files.denied-path',
  'files.size',
  'files.count',
] as const;
export type PolicyRule = (typeof policyRules)[number];

const sizeUnits: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `512m`, `1g`, `4096` → bytes. */
export function sizeBytes(size: number | string): number {
  if (typeof size === 'number') return size;
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)b?$/i.exec(size);
  if (!m) return Number.NaN;
  return Math.floor(Number(m[1]) * sizeUnits[m[2]!.toLowerCase()]!);
}
