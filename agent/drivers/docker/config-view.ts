// One shape for "how a container was created", from either side: an engine
// inspect (a container someone made by hand, or a Compose project's) or a
// create body (what a declaration would make). Adoption compares the two
// (agent/engine/container-match.ts); both are completed with the image's
// defaults the way the engine completes a create (an unset command is the
// image's, an environment is the image's overlaid with the container's), and
// normalized (lists sorted, unset and empty alike), so equal means "the engine
// would hold the same container".
import type { ContainerInspectInfo } from 'dockerode';
import type { ContainerConfigView, HealthcheckView, ImageDefaults } from '../types.ts';
import type { CreateBody } from './container-config.ts';

export const noImageDefaults: ImageDefaults = { cmd: null, entrypoint: null, env: [], user: '', workingDir: '', healthcheck: null, volumes: [], stopSignal: null };

interface RawHealthcheck {
  Test?: string[] | null;
  Interval?: number | null;
  Timeout?: number | null;
  StartPeriod?: number | null;
  Retries?: number | null;
}

export interface RawImageConfig {
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Env?: string[] | null;
  User?: string | null;
  WorkingDir?: string | null;
  Healthcheck?: RawHealthcheck | null;
  Volumes?: Record<string, unknown> | null;
  StopSignal?: string | null;
}

const list = (v: string[] | string | null | undefined): string[] | null => (v === undefined || v === null ? null : typeof v === 'string' ? [v] : [...v]);

/** What an unset (0) healthcheck field means to both engines; Docker reports 0, Podman the value itself. */
const healthDefaults = { interval: 30e9, timeout: 30e9, retries: 3 };

function healthcheckOf(h: RawHealthcheck | null | undefined): HealthcheckView | null {
  if (!h || !h.Test || h.Test.length === 0) return null;
  return { test: [...h.Test], interval: h.Interval || healthDefaults.interval, timeout: h.Timeout || healthDefaults.timeout, startPeriod: h.StartPeriod ?? 0, retries: h.Retries || healthDefaults.retries };
}

/** The defaults of an image, from its inspect's Config. */
export function imageDefaultsOf(config: RawImageConfig | null | undefined): ImageDefaults {
  if (!config) return noImageDefaults;
  return {
    cmd: list(config.Cmd),
    entrypoint: list(config.Entrypoint),
    env: [...(config.Env ?? [])],
    user: config.User ?? '',
    workingDir: config.WorkingDir ?? '',
    healthcheck: healthcheckOf(config.Healthcheck),
    volumes: Object.keys(config.Volumes ?? {}).sort(),
    stopSignal: config.StopSignal || null,
  };
}

const sorted = (items: Iterable<string>): string[] => [...items].sort();

/** `a:b:rw` and `a:b` are the same mount. */
function mountText(source: string, target: string, options: string[]): string {
  const kept = options.filter((o) => o !== '' && o !== 'rw');
  return kept.length > 0 ? `${source}:${target}:${kept.sort().join(',')}` : `${source}:${target}`;
}

function bindText(bind: string): string {
  const [source = '', target = '', options = ''] = bind.split(':');
  return mountText(source, target, options.split(','));
}

function portsOf(bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null | undefined): string[] {
  const out: string[] = [];
  for (const [port, list] of Object.entries(bindings ?? {})) {
    for (const b of list ?? []) {
      const ip = b.HostIp === '0.0.0.0' || b.HostIp === '::' ? '' : (b.HostIp ?? '');
      out.push(`${port}=${ip}:${b.HostPort ?? ''}`);
    }
  }
  return out.sort();
}

/** An environment as the engine merges it: the image's, overlaid by name with the container's. */
function mergedEnv(image: string[], own: string[]): string[] {
  const byName = new Map<string, string>();
  for (const entry of [...image, ...own]) byName.set(entry.split('=', 1)[0]!, entry);
  return sorted(byName.values());
}

const networkMode = (mode: string | undefined | null): string => (!mode || mode === 'bridge' ? 'default' : mode);
const restartName = (name: string | undefined | null): string => (!name ? 'no' : name);
const signal = (s: string | null | undefined): string => (!s ? 'SIGTERM' : s.startsWith('SIG') || /^\d+$/.test(s) ? s : `SIG${s}`);

interface HostConfigLike {
  Binds?: string[] | null;
  Mounts?: Array<{ Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }> | null;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  RestartPolicy?: { Name?: string } | null;
  NetworkMode?: string | null;
  Privileged?: boolean | null;
  Init?: boolean | null;
  ReadonlyRootfs?: boolean | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Devices?: Array<{ PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }> | null;
  Memory?: number | null;
  MemoryReservation?: number | null;
  PidsLimit?: number | null;
  NanoCpus?: number | null;
  LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null;
  ExtraHosts?: string[] | null;
  Tmpfs?: Record<string, string> | null;
  Ulimits?: Array<{ Name?: string; Soft?: number; Hard?: number }> | null;
}

function hostPart(h: HostConfigLike): Omit<ContainerConfigView, 'image' | 'cmd' | 'entrypoint' | 'env' | 'labels' | 'user' | 'workingDir' | 'hostname' | 'stopSignal' | 'stopTimeout' | 'healthcheck' | 'volumes' | 'networks' | 'logging' | 'imageDefaults'> {
  return {
    ports: portsOf(h.PortBindings),
    restart: restartName(h.RestartPolicy?.Name),
    networkMode: networkMode(h.NetworkMode),
    privileged: h.Privileged ?? false,
    init: h.Init ?? false,
    readOnly: h.ReadonlyRootfs ?? false,
    capAdd: sorted(h.CapAdd ?? []),
    capDrop: sorted(h.CapDrop ?? []),
    devices: sorted((h.Devices ?? []).map((d) => `${d.PathOnHost ?? ''}:${d.PathInContainer ?? ''}:${d.CgroupPermissions ?? 'rwm'}`)),
    memory: h.Memory ?? 0,
    memoryReservation: h.MemoryReservation ?? 0,
    pidsLimit: h.PidsLimit && h.PidsLimit > 0 ? h.PidsLimit : 0,
    nanoCpus: h.NanoCpus ?? 0,
    extraHosts: sorted(h.ExtraHosts ?? []),
    tmpfs: sorted(Object.entries(h.Tmpfs ?? {}).map(([path, opts]) => (opts ? `${path}:${opts}` : path))),
    ulimits: sorted((h.Ulimits ?? []).map((u) => `${u.Name ?? ''}=${u.Soft ?? 0}:${u.Hard ?? 0}`)),
  };
}

function loggingText(log: HostConfigLike['LogConfig']): string | null {
  if (!log?.Type) return null;
  const options = Object.entries(log.Config ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return options.length > 0 ? `${log.Type} ${options.map(([k, v]) => `${k}=${v}`).join(' ')}` : log.Type;
}

/** Command and entrypoint as the engine completes them: an entrypoint given at create drops the image's command. */
function commandOf(cmd: string[] | null, entrypoint: string[] | null, image: ImageDefaults): { cmd: string[]; entrypoint: string[] } {
  if (entrypoint !== null && entrypoint.length > 0) return { entrypoint, cmd: cmd ?? [] };
  return { entrypoint: image.entrypoint ?? [], cmd: cmd !== null && cmd.length > 0 ? cmd : (image.cmd ?? []) };
}

/** What the engine holds for a container, from its inspect. `labels`: the container's own (image labels left out, image-labels.ts). */
export function viewOfInspect(info: ContainerInspectInfo, labels: Record<string, string>, image: ImageDefaults): ContainerConfigView {
  const config = info.Config as ContainerInspectInfo['Config'] & { Healthcheck?: RawHealthcheck; StopTimeout?: number; Entrypoint?: string[] | string | null };
  const host = info.HostConfig as HostConfigLike;
  const mounts = [
    ...(host.Binds ?? []).map(bindText),
    ...(host.Mounts ?? []).filter((m) => m.Type === 'bind' || m.Type === 'volume').map((m) => mountText(m.Source ?? '', m.Target ?? '', m.ReadOnly ? ['ro'] : [])),
  ];
  const bindTargets = new Set(mounts.map((m) => m.split(':')[1]));
  const anonymous = Object.keys(config.Volumes ?? {}).filter((t) => !bindTargets.has(t));
  return {
    image: config.Image,
    cmd: list(config.Cmd) ?? [],
    entrypoint: list(config.Entrypoint) ?? [],
    env: sorted(config.Env ?? []),
    labels: { ...labels },
    user: config.User ?? '',
    workingDir: config.WorkingDir ?? '',
    hostname: config.Hostname ?? '',
    stopSignal: signal((config as { StopSignal?: string }).StopSignal),
    stopTimeout: config.StopTimeout ?? null,
    healthcheck: healthcheckOf(config.Healthcheck),
    volumes: [...sorted(mounts), ...sorted(anonymous)],
    networks: sorted(Object.keys(info.NetworkSettings?.Networks ?? {})),
    logging: loggingText(host.LogConfig),
    ...hostPart(host),
    imageDefaults: image,
  };
}

/**
 * What a create body would make, completed with the image's defaults.
 * `extraNetworks`: the networks the driver connects after create.
 * The hostname and the log driver are compared only when declared (the engine
 * picks them otherwise), and so are networks.
 */
export function viewOfCreateBody(body: CreateBody, extraNetworks: string[], image: ImageDefaults): ContainerConfigView {
  const b = body as CreateBody & { StopTimeout?: number; Healthcheck?: RawHealthcheck };
  const binds = (b.HostConfig.Binds ?? []).map(bindText);
  const bindTargets = new Set(binds.map((m) => m.split(':')[1]));
  const anonymous = new Set([...Object.keys(b.Volumes ?? {}), ...image.volumes].filter((t) => !bindTargets.has(t)));
  const first = Object.keys(b.NetworkingConfig?.EndpointsConfig ?? {});
  return {
    image: b.Image ?? '',
    ...commandOf(list(b.Cmd), list(b.Entrypoint), image),
    env: mergedEnv(image.env, b.Env ?? []),
    labels: { ...(b.Labels ?? {}) },
    user: b.User ?? image.user,
    workingDir: b.WorkingDir ?? image.workingDir,
    hostname: b.Hostname ?? null,
    stopSignal: signal(b.StopSignal ?? image.stopSignal),
    stopTimeout: b.StopTimeout ?? null,
    healthcheck: b.Healthcheck ? healthcheckOf(b.Healthcheck) : image.healthcheck,
    volumes: [...sorted(binds), ...sorted(anonymous)],
    networks: first.length > 0 ? sorted([...first, ...extraNetworks]) : null,
    logging: loggingText(b.HostConfig.LogConfig as HostConfigLike['LogConfig']),
    ...hostPart(b.HostConfig as HostConfigLike),
    imageDefaults: image,
  };
}
