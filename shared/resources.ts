// The resource format of a fleet repository (docs/fleet-repo.md). These schemas are
// the single definition: the loader validates files with them, the agent plans
// with the inferred types, and the hub shows them.
import { z } from 'zod';
import { isRunToCompletion, unitDirectives } from './unit-file.ts';

export const resourceKinds = ['container', 'unit', 'file', 'network', 'volume'] as const;
export type ResourceKind = (typeof resourceKinds)[number];
/** `kind/name`, e.g. `container/web`, `unit/hello.service`, `file//etc/hello.toml`, `network/backend`, `volume/dbdata`. */
export type ResourceId = `${ResourceKind}/${string}`;

export const DriftPolicy = z.enum(['correct', 'report', 'ignore']);
export type DriftPolicy = z.infer<typeof DriftPolicy>;

/** `10s`, `1m30s`, `500ms`, `2h`, or a number of seconds. */
export const Duration = z.union([
  z.number().nonnegative(),
  z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, 'a duration like 10s, 1m30s or 500ms'),
]);
export type Duration = z.infer<typeof Duration>;

/** `512m`, `1g`, `1048576` (bytes). */
export const ByteSize = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+(\.\d+)?[bkmg]?b?$/i, 'a size like 512m or 1g'),
]);

export const ResourceRef = z
  .string()
  .regex(/^(container|unit|file|network|volume)\/.+$/, 'a resource reference like container/web, unit/hello.service, file//etc/x.conf, network/backend or volume/data');

const scalarValue = z.union([z.string(), z.number(), z.boolean()]);

// ---------------------------------------------------------------- names
// Each check returns null when the name is fine, else the reason in words, so
// the loader can report it with its own code and position.

const hostnameLabel = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const hostnameRe = new RegExp(`^${hostnameLabel}(?:\\.${hostnameLabel})*$`);

/**
 * A host id or a tag directory name: a lowercase hostname (labels of a-z, 0-9
 * and '-', joined by '.'), at most 253 characters. Lowercase only, because
 * hostnames are case-insensitive while directory names are not.
 */
export function hostNameProblem(name: string): string | null {
  if (name.length === 0) return 'it is empty';
  if (name.length > 253) return 'it is longer than 253 characters';
  if (name.includes('/')) return "it contains '/'";
  if (name.includes('..')) return "it contains '..'";
  if (!hostnameRe.test(name)) {
    return "only lowercase letters, digits, '-' and '.' are allowed, and each dot-separated part starts and ends with a letter or digit";
  }
  return null;
}

// Docker's own rule (daemon/names: [a-zA-Z0-9][a-zA-Z0-9_.-]+).
const containerNameRe = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
export function containerNameProblem(name: string): string | null {
  if (name.length > 255) return 'it is longer than 255 characters';
  if (!containerNameRe.test(name)) return "Docker allows [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least two characters)";
  return null;
}

/** Unit types the agent can write as unit files. */
export const unitTypes = ['service', 'socket', 'timer', 'path', 'mount', 'automount', 'swap', 'target', 'slice'] as const;
const unitNameRe = new RegExp(`^[A-Za-z0-9:_.\\\\-]+(?:@[A-Za-z0-9:_.\\\\-]*)?\\.(?:${unitTypes.join('|')})$`);
export function unitNameProblem(name: string): string | null {
  if (name.length > 255) return 'it is longer than 255 characters';
  if (!unitNameRe.test(name)) {
    return `a systemd unit name is NAME.TYPE or NAME@INSTANCE.TYPE with NAME of A-Z a-z 0-9 : _ . \\ - and TYPE one of ${unitTypes.join(', ')}`;
  }
  return null;
}

/** A file resource's path: absolute, normalized, no '.' or '..' parts, not '/'. */
export function filePathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'it is not absolute (it must start with /)';
  if (path === '/') return 'it is the root directory';
  if (path.length > 4096) return 'it is longer than 4096 characters';
  if (path.includes('\0')) return 'it contains a NUL byte';
  const parts = path.slice(1).split('/');
  if (parts.includes('..')) return "it contains '..'";
  if (parts.some((p) => p === '' || p === '.')) return "it is not normalized (empty or '.' parts, or a trailing /)";
  return null;
}

const fromProblem = (problem: (s: string) => string | null) =>
  z.string().superRefine((value, ctx) => {
    const reason = problem(value);
    if (reason !== null) ctx.addIssue({ code: 'custom', message: reason });
  });
export const HostName = fromProblem(hostNameProblem);
export const ContainerName = fromProblem(containerNameProblem);
export const UnitName = fromProblem(unitNameProblem);
export const FilePath = fromProblem(filePathProblem);

const stringList = z.array(z.string());
const commandLike = z.union([z.string(), stringList]);

/** Keys that every resource kind accepts. */
const common = {
  drift: DriftPolicy.optional(),
  depends_on: z.array(ResourceRef).optional(),
};

export const Healthcheck = z.strictObject({
  test: z.union([z.string(), stringList]),
  interval: Duration.optional(),
  timeout: Duration.optional(),
  retries: z.number().int().nonnegative().optional(),
  start_period: Duration.optional(),
  disable: z.boolean().optional(),
});

/**
 * Where a container's `secrets:` are written on the host: one directory per
 * container, reserved for them (a file resource declared there is refused), so
 * the policy treats the files as part of their container (docs/secrets.md).
 */
export const CONTAINER_SECRETS_DIR = '/var/lib/gitfleet/secrets';
/** A secret's name: one path component under the container's directory (Compose's secret names). */
export const ContainerSecretName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a secret name: letters, digits, _ . - (starting with a letter or digit)');
const octalMode = z
  .string({ error: 'an octal mode as a quoted string, like "0400"' })
  .regex(/^0?[0-7]{3,4}$/, 'an octal mode as a quoted string, like "0400"');
/** One entry of a container's `secrets:`: the content, or the long form (Compose's uid, gid, mode, target). */
export const ContainerSecret = z.union([
  z.string(),
  z.strictObject({
    content: z.string(),
    /** Inside the container; default /run/secrets/NAME. A relative target is under /run/secrets, as in Compose. */
    target: z.string().min(1).optional(),
    /** Owner of the host file (a user name or numeric id); default root. */
    uid: z.union([z.string().min(1), z.number().int().nonnegative()]).optional(),
    gid: z.union([z.string().min(1), z.number().int().nonnegative()]).optional(),
    mode: octalMode.optional(),
  }),
]);
export type ContainerSecret = z.infer<typeof ContainerSecret>;

/** The host path of secret `name` of container `container`. */
export function containerSecretPath(container: string, name: string): string {
  return `${CONTAINER_SECRETS_DIR}/${container}/${name}`;
}

/** True for a path inside the reserved secrets directory. */
export function isContainerSecretPath(path: string): boolean {
  return path.startsWith(`${CONTAINER_SECRETS_DIR}/`);
}

export const ContainerSpec = z.strictObject({
  image: z.string().min(1),
  command: commandLike.optional(),
  entrypoint: commandLike.optional(),
  env: z.record(z.string(), scalarValue).optional(),
  /** The Compose name of `env` (docs/fleet-repo.md): one of the two, not both. */
  environment: z.record(z.string(), scalarValue).optional(),
  ports: z.array(z.union([z.string(), z.number()])).optional(),
  volumes: stringList.optional(),
  restart: z.enum(['no', 'always', 'on-failure', 'unless-stopped']).optional(),
  network: z.string().min(1).optional(),
  /** The Compose name of `network`: one of the two, not both. */
  network_mode: z.string().min(1).optional(),
  /** User-defined networks to join, with DNS aliases (Compose `networks`); not with network/network_mode. */
  networks: z
    .union([z.array(z.string().min(1)), z.record(z.string().min(1), z.union([z.null(), z.strictObject({ aliases: stringList.optional() })]))])
    .optional(),
  labels: z.record(z.string(), z.string()).optional(),
  healthcheck: Healthcheck.optional(),
  pull: z.enum(['always', 'missing', 'never']).optional(),
  state: z.enum(['running', 'stopped']).optional(),
  user: z.string().optional(),
  working_dir: z.string().optional(),
  hostname: z.string().optional(),
  privileged: z.boolean().optional(),
  init: z.boolean().optional(),
  read_only: z.boolean().optional(),
  cap_add: stringList.optional(),
  cap_drop: stringList.optional(),
  devices: stringList.optional(),
  mem_limit: ByteSize.optional(),
  mem_reservation: ByteSize.optional(),
  pids_limit: z.number().int().optional(),
  cpus: z.union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?$/)]).optional(),
  logging: z.strictObject({ driver: z.string(), options: z.record(z.string(), z.string()).optional() }).optional(),
  extra_hosts: stringList.optional(),
  tmpfs: z.union([z.string(), stringList]).optional(),
  ulimits: z
    .record(z.string(), z.union([z.number().int(), z.strictObject({ soft: z.number().int(), hard: z.number().int() })]))
    .optional(),
  stop_signal: z.string().optional(),
  stop_grace_period: Duration.optional(),
  /** Files mounted read-only at /run/secrets/NAME (docs/secrets.md); evaluated into file resources, never into env. */
  secrets: z.record(ContainerSecretName, ContainerSecret).optional(),
  ...common,
}).superRefine(
  (spec, ctx) => {
    // The native names and their Compose names are aliases: one of each pair (docs/fleet-repo.md).
    if (spec.env !== undefined && spec.environment !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['environment'], message: 'absent when env is set (environment is the Compose name of env: use one)', input: spec.environment });
    }
    if (spec.network !== undefined && spec.network_mode !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['network_mode'], message: 'absent when network is set (network_mode is the Compose name of network: use one)', input: spec.network_mode });
    }
    if (spec.networks !== undefined && (spec.network ?? spec.network_mode) !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['networks'], message: 'absent with network/network_mode (a container joins user-defined networks or uses a network mode, as in Compose)', input: spec.networks });
    }
  },
  { when: (payload) => payload.value !== null && typeof payload.value === 'object' },
);
export type ContainerSpec = z.infer<typeof ContainerSpec>;

/** How a declared unit should run; absent: see docs/units-and-files.md ("Run state and health"). */
export const UnitState = z.enum(['running', 'stopped', 'masked']);

export const UnitSpec = z
  .strictObject({
    /** The unit file; absent: the unit is the distribution's and only `dropins` (or `state: masked`) are managed. */
    content: z.string().min(1).optional(),
    /** Drop-ins written to `<unit>.d/<name>`; keys end in `.conf`. */
    dropins: z.record(z.string().regex(/^[A-Za-z0-9_@-][A-Za-z0-9_.@-]*\.conf$/, 'a drop-in file name ending in .conf'), z.string()).optional(),
    enabled: z.boolean().optional(),
    state: UnitState.optional(),
    ...common,
  })
  .superRefine(
    (spec, ctx) => {
      const problem = unitSpecProblem(spec);
      if (problem?.missing) ctx.addIssue({ code: 'invalid_type', expected: 'string', input: undefined, path: [problem.key], message: problem.message });
      else if (problem) ctx.addIssue({ code: 'custom', path: [problem.key], message: problem.message, input: spec[problem.key as keyof typeof spec] });
    },
    // Also when another key is invalid, so every problem of an entry is reported at once.
    { when: (payload) => payload.value !== null && typeof payload.value === 'object' },
  );
export type UnitSpec = z.infer<typeof UnitSpec>;

/**
 * Rules across the keys of a unit entry: the key to point at and what it must
 * be (the loader prints "KEY must be MESSAGE"), or a missing key. Runs on
 * unvalidated input too (other keys may be invalid), so it checks types itself.
 */
export function unitSpecProblem(spec: Record<string, unknown>): { key: string; message: string; missing?: true } | null {
  const content = typeof spec.content === 'string' ? spec.content : undefined;
  const dropins = spec.dropins !== null && typeof spec.dropins === 'object' ? Object.values(spec.dropins).filter((v): v is string => typeof v === 'string') : [];
  if (spec.state === 'masked') {
    if (spec.content !== undefined) return { key: 'content', message: 'absent with state: masked (masking is for a unit the distribution ships; use state: stopped for one the agent writes)' };
    if (dropins.length > 0) return { key: 'dropins', message: 'absent with state: masked (a masked unit never loads its drop-ins)' };
    if (spec.enabled === true) return { key: 'enabled', message: 'absent or false with state: masked (a masked unit cannot be enabled)' };
    return null;
  }
  if (spec.content === undefined && dropins.length === 0 && typeof spec.state !== 'string' && typeof spec.enabled !== 'boolean') {
    // Without a unit file the entry manages drop-ins, enablement or run state of a unit the
    // distribution (or a declared template) defines; with none of them there is nothing to manage.
    return { key: 'content', message: 'a unit needs content, or for a unit the host already has: dropins, enabled or state', missing: true };
  }
  if (content !== undefined && spec.state === 'running' && isRunToCompletion(unitDirectives([content, ...dropins]))) {
    return {
      key: 'state',
      message:
        'stopped or absent for a Type=oneshot service (it exits when it is done, so it cannot be kept running: drop state and let a timer or the boot run it, or add RemainAfterExit=yes to [Service])',
    };
  }
  return null;
}

export const FileSpec = z.strictObject({
  content: z.string(),
  // A string, because YAML 1.2 reads an unquoted 0644 as the decimal 644.
  mode: z
    .string({ error: 'an octal mode as a quoted string, like "0644"' })
    .regex(/^0?[0-7]{3,4}$/, 'an octal mode as a quoted string, like "0644"')
    .optional(),
  owner: z.string().min(1).optional(),
  group: z.string().min(1).optional(),
  notify: z.array(ResourceRef).optional(),
  ...common,
});
export type FileSpec = z.infer<typeof FileSpec>;

/** A Docker network the agent creates and labels as its own (docs/compose.md). */
export const NetworkSpec = z.strictObject({
  driver: z.string().min(1).optional(),
  driver_opts: z.record(z.string(), z.string()).optional(),
  internal: z.boolean().optional(),
  attachable: z.boolean().optional(),
  enable_ipv6: z.boolean().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  ...common,
});
export type NetworkSpec = z.infer<typeof NetworkSpec>;

/** A Docker volume the agent creates; removed when undeclared only with `prune: true` (data outlives a typo). */
export const VolumeSpec = z.strictObject({
  driver: z.string().min(1).optional(),
  driver_opts: z.record(z.string(), z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  prune: z.boolean().optional(),
  ...common,
});
export type VolumeSpec = z.infer<typeof VolumeSpec>;

/** A resource entry that removes an inherited resource below its layer. */
export const AbsentEntry = z.strictObject({ absent: z.literal(true) });

/** Settings a layer may set for itself and the layers below it. */
export const LayerDefaults = z.strictObject({ drift: DriftPolicy.optional() });

export const Vars = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name: letters, digits, _'), scalarValue);

/** One `*.yaml` resource file. Resource maps are validated per entry by the loader. */
export const ResourceFileTopLevel = z.strictObject({
  vars: Vars.optional(),
  defaults: LayerDefaults.optional(),
  containers: z.record(z.string(), z.unknown()).optional(),
  units: z.record(z.string(), z.unknown()).optional(),
  files: z.record(z.string(), z.unknown()).optional(),
  networks: z.record(z.string(), z.unknown()).optional(),
  volumes: z.record(z.string(), z.unknown()).optional(),
});

/** `host.yaml` (may be empty). */
export const HostFile = z.strictObject({
  tags: z.array(z.string()).optional(),
  vars: Vars.optional(),
  defaults: LayerDefaults.optional(),
  /** The explicit "yes, remove everything" for the empty-state guard. */
  allowEmpty: z.boolean().optional(),
  /** Compose profiles this host runs (docs/compose.md). */
  profiles: z.array(z.string().min(1)).optional(),
  /** Take over what already runs on the host when it matches its declaration, instead of recreating it (docs/adopt.md). */
  adopt: z.boolean().optional(),
});
export type HostFile = z.infer<typeof HostFile>;

interface ResourceBase<K extends ResourceKind, S> {
  id: ResourceId;
  kind: K;
  name: string;
  spec: S;
  /** Effective drift policy after layer defaults. */
  drift: DriftPolicy;
  dependsOn: ResourceId[];
  /**
   * Of `dependsOn`, the containers to wait for until they have run and exited
   * with code 0 (Compose's `condition: service_completed_successfully`): run-once jobs.
   */
  dependsOnCompleted?: ResourceId[];
  /** Where the winning declaration came from (repo-relative). */
  source: { file: string; line: number; layer: string };
  /** Holds a value from an encrypted layer (docs/secrets.md): its content is never shown. */
  secret?: true;
}
export type ContainerResource = ResourceBase<'container', ContainerSpec>;
export type UnitResource = ResourceBase<'unit', UnitSpec>;
export type FileResource = ResourceBase<'file', FileSpec>;
export type NetworkResource = ResourceBase<'network', NetworkSpec>;
export type VolumeResource = ResourceBase<'volume', VolumeSpec>;
export type DesiredResource = ContainerResource | UnitResource | FileResource | NetworkResource | VolumeResource;

/** A commit evaluated for one host. */
export interface DesiredState {
  host: string;
  /** The host's leaf directory in the tree (its own directory, or `place`). */
  place: string;
  /** Path tags, then cross-cutting tags in declaration order. */
  tags: string[];
  vars: Record<string, string>;
  /** Layers applied, general to specific (repo-relative directories). */
  layers: string[];
  resources: DesiredResource[];
  allowEmpty: boolean;
  /** host.yaml `adopt: true`: resources found running that match are taken over as they are (docs/adopt.md). */
  adopt?: boolean;
}

export function resourceId(kind: ResourceKind, name: string): ResourceId {
  return `${kind}/${name}`;
}

export function parseResourceId(id: string): { kind: ResourceKind; name: string } {
  const slash = id.indexOf('/');
  const kind = id.slice(0, slash) as ResourceKind;
  if (slash < 0 || !resourceKinds.includes(kind)) throw new Error(`not a resource id: ${id}`);
  return { kind, name: id.slice(slash + 1) };
}
