// Podman's Docker-compatible inspect says the same things as Docker's in other
// words: it fills in what Docker leaves empty (environment, working directory,
// stop signal and timeout, pids limit, bind options) and names its default
// network and local images its own way. Reading a container someone else made
// (adoption: `gitfleet adopt`, `adopt: true`) compares it field by field with
// a declaration, so Podman's answer is put in Docker's words first; without it
// every such container would look changed (docs/edge.md, Podman).
import { constants } from 'node:os';

/** The parts of an inspect this touches (Docker's and Podman's shape alike). */
export interface InspectLike {
  Config: {
    Image: string;
    Env?: string[] | null;
    Hostname?: string | null;
    WorkingDir?: string | null;
    StopSignal?: string | null;
    StopTimeout?: number | null;
    Volumes?: Record<string, unknown> | null;
  };
  HostConfig: {
    Binds?: string[] | null;
    PidsLimit?: number | null;
    NetworkMode?: string | null;
    Tmpfs?: Record<string, string> | null;
    Ulimits?: Array<{ Name?: string; Soft?: number; Hard?: number }> | null;
  };
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
}

/** What the image itself sets (a variable Podman adds is the image's when the image has it). */
export interface ImageSide {
  env: readonly string[];
  workingDir: string;
}

/** Podman's defaults where Docker reports nothing (Podman 4.3; containers.conf defaults). */
export const PODMAN_DEFAULTS = {
  /** Podman's own default network: Docker calls the same thing `bridge`. */
  network: 'podman',
  pidsLimit: 2048,
  stopTimeoutSeconds: 10,
  /** Mount options Podman lists on every bind and tmpfs (Docker lists only what was asked). */
  mountOptions: new Set(['rw', 'rprivate', 'rbind', 'nosuid', 'nodev', 'exec', 'tmpcopyup']),
  /** The nproc limit Podman gives every rootful container (its RLimitDefaultValue). */
  nproc: 1048576,
} as const;

/** An anonymous volume's name: 64 hex digits, as both engines make them. */
const anonymousVolume = /^[0-9a-f]{64}$/;

const signalNames = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

function signalName(s: string | null | undefined): string | null {
  if (!s) return null;
  if (!/^\d+$/.test(s)) return s;
  return signalNames.get(Number(s)) ?? s;
}

/** Variables Podman adds to every container unless the image sets them: `container`, `TERM`, `HOME`, `HOSTNAME`. */
function dockerEnv(env: readonly string[], hostname: string, image: ImageSide): string[] {
  const imageNames = new Set(image.env.map((e) => e.split('=', 1)[0]!));
  const added = new Set(['container=podman', 'TERM=xterm', `HOSTNAME=${hostname}`]);
  return env.filter((entry) => {
    const name = entry.split('=', 1)[0]!;
    if (imageNames.has(name)) return true;
    if (added.has(entry)) return false;
    // Podman sets HOME from the user's passwd entry; Docker leaves it to the process.
    return name !== 'HOME';
  });
}

const askedOptions = (options: string) => options.split(',').filter((o) => o !== '' && !PODMAN_DEFAULTS.mountOptions.has(o));

function dockerBind(bind: string): string {
  const [source = '', target = '', options] = bind.split(':');
  if (options === undefined) return bind;
  const kept = askedOptions(options);
  return kept.length > 0 ? `${source}:${target}:${kept.join(',')}` : `${source}:${target}`;
}

/** Podman lists anonymous volumes (the image's VOLUMEs, `-v /path`) among the binds; Docker only in Config.Volumes. */
function splitBinds(binds: readonly string[], volumes: Record<string, unknown> | null | undefined): { binds: string[]; volumes: Record<string, unknown> | null } {
  const named: string[] = [];
  const anonymous: Record<string, unknown> = { ...(volumes ?? {}) };
  for (const bind of binds) {
    const [source = '', target = ''] = bind.split(':');
    if (anonymousVolume.test(source)) anonymous[target] = {};
    else named.push(dockerBind(bind));
  }
  return { binds: named, volumes: Object.keys(anonymous).length > 0 ? anonymous : (volumes ?? null) };
}

/** `RLIMIT_NOFILE` → `nofile`, without the nproc limit Podman sets on its own. */
function dockerUlimits(ulimits: NonNullable<InspectLike['HostConfig']['Ulimits']>): NonNullable<InspectLike['HostConfig']['Ulimits']> {
  return ulimits
    .map((u) => ({ ...u, Name: (u.Name ?? '').replace(/^RLIMIT_/, '').toLowerCase() }))
    .filter((u) => !(u.Name === 'nproc' && u.Soft === PODMAN_DEFAULTS.nproc && u.Hard === PODMAN_DEFAULTS.nproc));
}

/**
 * Podman says `bridge` for a container on user-defined bridge networks, where
 * Docker names the network it was created on. Podman 4 keeps a container's
 * networks in a map (no order), so of several the first by name is taken:
 * right for one network, a guess for more (docs/edge.md).
 */
function userNetworkMode(mode: string | null | undefined, networks: Record<string, unknown> | null | undefined): string | null | undefined {
  if (mode !== 'bridge' || networks == null) return mode;
  const names = Object.keys(networks).sort();
  return names.length > 0 && !names.includes(PODMAN_DEFAULTS.network) ? names[0] : mode;
}

/** `info` as Docker would have described the same container. Pure: returns a new object. */
export function podmanInspectAsDocker<T extends InspectLike>(info: T, image: ImageSide): T {
  const c = info.Config;
  const h = info.HostConfig;
  const stopSignal = signalName(c.StopSignal);
  const networks = info.NetworkSettings?.Networks;
  const onlyDefaultNetwork = networks != null && Object.keys(networks).length === 1 && PODMAN_DEFAULTS.network in networks;
  const mounts = h.Binds ? splitBinds(h.Binds, c.Volumes) : { binds: h.Binds, volumes: c.Volumes };
  return {
    ...info,
    Config: {
      ...c,
      Image: c.Image.replace(/^localhost\//, ''),
      Env: dockerEnv(c.Env ?? [], c.Hostname ?? '', image),
      WorkingDir: c.WorkingDir === '/' && image.workingDir === '' ? '' : c.WorkingDir,
      StopSignal: stopSignal === 'SIGTERM' ? null : stopSignal,
      // 10 s is `podman run`'s default; a container made through the API without one reports 0.
      StopTimeout: c.StopTimeout === PODMAN_DEFAULTS.stopTimeoutSeconds || c.StopTimeout === 0 ? null : c.StopTimeout,
      Volumes: mounts.volumes,
    },
    HostConfig: {
      ...h,
      Binds: mounts.binds,
      Tmpfs: h.Tmpfs ? Object.fromEntries(Object.entries(h.Tmpfs).map(([path, options]) => [path, askedOptions(options).join(',')])) : h.Tmpfs,
      Ulimits: h.Ulimits ? dockerUlimits(h.Ulimits) : h.Ulimits,
      PidsLimit: h.PidsLimit === PODMAN_DEFAULTS.pidsLimit ? 0 : h.PidsLimit,
      NetworkMode: onlyDefaultNetwork && h.NetworkMode === 'bridge' ? 'default' : userNetworkMode(h.NetworkMode, networks),
    },
    ...(info.NetworkSettings && networks && PODMAN_DEFAULTS.network in networks
      ? { NetworkSettings: { ...info.NetworkSettings, Networks: Object.fromEntries(Object.entries(networks).map(([n, v]) => [n === PODMAN_DEFAULTS.network ? 'bridge' : n, v])) } }
      : {}),
  };
}
