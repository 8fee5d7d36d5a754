// A running container's inspection → the container keys of the fleet repo
// (docs/fleet-repo.md "containers"), keeping only what differs from the
// image's own defaults and the engine's: what someone wrote on the `docker run`
// line or in the Compose file, not what Docker filled in. The inverse of
// agent/drivers/docker/container-config.ts, key by key.
import { COMPOSE_SERVICE_LABEL, containerName, type ContainerFacts, type HealthConfig, type InspectedContainer } from './docker-facts.ts';

/** A container spec in the repo's native keys, before secrets are split off. */
export interface AdoptedSpec {
  image: string;
  command?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  restart?: 'always' | 'on-failure' | 'unless-stopped';
  network?: string;
  networks?: string[] | Record<string, { aliases: string[] } | null>;
  labels?: Record<string, string>;
  healthcheck?: { test: string | string[]; interval?: string; timeout?: string; retries?: number; start_period?: string };
  state?: 'stopped';
  user?: string;
  working_dir?: string;
  hostname?: string;
  privileged?: true;
  init?: true;
  read_only?: true;
  cap_add?: string[];
  cap_drop?: string[];
  devices?: string[];
  mem_limit?: string | number;
  mem_reservation?: string | number;
  pids_limit?: number;
  cpus?: number;
  logging?: { driver: string; options?: Record<string, string> };
  extra_hosts?: string[];
  tmpfs?: string[];
  ulimits?: Record<string, { soft: number; hard: number }>;
  stop_signal?: string;
  stop_grace_period?: string;
}

export interface StrippedContainer {
  name: string;
  spec: AdoptedSpec;
  /** User-defined networks and named volumes it uses (Docker names), to declare beside it. */
  networks: string[];
  volumes: string[];
  /** What could not be expressed in the repo's keys (reported, never silently dropped). */
  notes: string[];
}

// Labels the engine, Compose or gitfleet itself set: not the operator's.
const generatedLabel = /^(com\.docker\.compose\.|io\.gitfleet\.)/;
const builtinModes = new Set(['default', 'bridge', 'host', 'none']);

const sameList = (a: readonly string[] | null | undefined, b: readonly string[] | null | undefined) =>
  JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

/** Bytes → `64m`, `1g` when a whole number of units (1024-based, as the agent reads them back), else the number. */
export function bytesToSize(bytes: number): string | number {
  for (const [unit, size] of [['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]] as const) if (bytes % size === 0) return `${bytes / size}${unit}`;
  return bytes;
}

/** Nanoseconds → the shortest duration text the schema reads back to the same value. */
export function nsToDuration(ns: number): string {
  if (ns % 1e9 === 0) return `${ns / 1e9}s`;
  return `${Math.round(ns / 1e6)}ms`;
}

function stripEnv(env: string[] | null | undefined, imageEnv: string[] | null | undefined): Record<string, string> {
  const inherited = new Set(imageEnv ?? []);
  const out: Record<string, string> = {};
  for (const entry of env ?? []) {
    if (inherited.has(entry)) continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) continue; // a bare NAME (no value) has nothing to declare
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

function portStrings(bindings: ContainerFacts['HostConfig']['PortBindings']): string[] {
  const out: string[] = [];
  for (const [port, list] of Object.entries(bindings ?? {})) {
    const [number, protocol = 'tcp'] = port.split('/');
    const suffix = protocol === 'tcp' ? '' : `/${protocol}`;
    for (const b of list ?? []) {
      const ip = b.HostIp ?? '';
      const hostIp = ip === '' ? '' : ip.includes(':') ? `[${ip}]:` : `${ip}:`;
      const hostPort = b.HostPort ?? '';
      out.push(hostPort === '' && hostIp === '' ? `${number}${suffix}` : `${hostIp}${hostPort}:${number}${suffix}`);
    }
  }
  return out.sort();
}

function healthcheckOf(h: HealthConfig): AdoptedSpec['healthcheck'] {
  const test = h.Test ?? [];
  const out: NonNullable<AdoptedSpec['healthcheck']> = { test: test[0] === 'CMD-SHELL' && test.length === 2 ? test[1]! : [...test] };
  if (h.Interval) out.interval = nsToDuration(h.Interval);
  if (h.Timeout) out.timeout = nsToDuration(h.Timeout);
  if (h.StartPeriod) out.start_period = nsToDuration(h.StartPeriod);
  if (h.Retries) out.retries = h.Retries;
  return out;
}

function sameHealthcheck(a: HealthConfig | null | undefined, b: HealthConfig | null | undefined): boolean {
  const norm = (h: HealthConfig | null | undefined) => (h ? { t: h.Test ?? [], i: h.Interval ?? 0, to: h.Timeout ?? 0, s: h.StartPeriod ?? 0, r: h.Retries ?? 0 } : null);
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** Mounts as the repo's short volume syntax; the image's own VOLUMEs (anonymous) are its default. */
function volumesOf(c: ContainerFacts, image: InspectedContainer['image'], notes: string[]): { volumes: string[]; named: string[]; tmpfs: string[] } {
  const volumes: string[] = [];
  const named: string[] = [];
  const tmpfs: string[] = [];
  const seen = new Set<string>();
  const add = (entry: string, target: string) => {
    if (seen.has(target)) return;
    seen.add(target);
    volumes.push(entry);
  };
  for (const bind of c.HostConfig.Binds ?? []) {
    const [source, target] = bind.split(':');
    if (!source || !target) continue;
    if (!source.startsWith('/')) named.push(source);
    add(bind, target);
  }
  for (const m of c.HostConfig.Mounts ?? []) {
    if (!m.Target) continue;
    const ro = m.ReadOnly ? ':ro' : '';
    if (m.Type === 'tmpfs') tmpfs.push(m.Target);
    else if ((m.Type === 'bind' || m.Type === 'volume') && m.Source) {
      if (m.Type === 'volume') named.push(m.Source);
      add(`${m.Source}:${m.Target}${ro}`, m.Target);
    } else if (m.Type === 'volume') {
      add(m.Target, m.Target);
    } else notes.push(`mount of type ${m.Type ?? '?'} at ${m.Target} is not expressible in the repo's keys; left out`);
  }
  // What the engine mounted without being asked: the image's VOLUMEs (anonymous volumes) are its defaults.
  const imageVolumes = new Set(Object.keys(image?.Volumes ?? {}));
  for (const m of c.Mounts ?? []) {
    const target = m.Destination;
    if (!target || seen.has(target) || imageVolumes.has(target)) continue;
    // An anonymous volume someone asked for (`docker run -v /data`).
    if (m.Type === 'volume' && m.Name && /^[0-9a-f]{64}$/.test(m.Name)) add(target, target);
  }
  return { volumes, named: [...new Set(named)], tmpfs };
}

function networksOf(c: ContainerFacts, keepAliases: string[]): { network?: string; networks?: AdoptedSpec['networks']; joined: string[] } {
  const mode = c.HostConfig.NetworkMode ?? 'default';
  if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) return { network: mode, joined: [] };
  const attached = Object.keys(c.NetworkSettings?.Networks ?? {});
  const joined = builtinModes.has(mode) ? attached.filter((n) => !builtinModes.has(n)) : [mode, ...attached.filter((n) => n !== mode)];
  if (joined.length === 0) return mode === 'bridge' ? { network: 'bridge', joined } : { joined };
  // The engine adds the short id (and the name resolves anyway); a Compose service's name is an alias Compose added
  // that its neighbours use: kept in the written file (the repo's Compose mapping adds it too, and drops the
  // duplicate), so the file says every name the container answers to.
  const implicit = new Set([c.Id.slice(0, 12), containerName(c)]);
  const withAliases: Record<string, { aliases: string[] } | null> = {};
  let anyAlias = false;
  for (const n of joined) {
    const aliases = (c.NetworkSettings?.Networks?.[n]?.Aliases ?? []).filter((a) => !implicit.has(a) || keepAliases.includes(a));
    const unique = [...new Set(aliases)];
    if (unique.length > 0) anyAlias = true;
    withAliases[n] = unique.length > 0 ? { aliases: unique } : null;
  }
  return { networks: anyAlias ? withAliases : joined, joined };
}

/** The spec of one container: only what differs from its image and the engine's defaults. */
export function stripDefaults(container: InspectedContainer, defaultLogDriver: string): StrippedContainer {
  const c = container.facts;
  const img = container.image ?? {};
  const notes: string[] = [];
  const spec: AdoptedSpec = { image: c.Config.Image };
  if (container.image === null) notes.push(`its image ${c.Config.Image} is no longer on the engine: nothing could be compared with the image's defaults`);

  if (c.Config.Entrypoint && c.Config.Entrypoint.length > 0 && !sameList(c.Config.Entrypoint, img.Entrypoint)) spec.entrypoint = [...c.Config.Entrypoint];
  // A new entrypoint drops the image's Cmd: then any Cmd is the operator's.
  if (c.Config.Cmd && c.Config.Cmd.length > 0 && (spec.entrypoint !== undefined || !sameList(c.Config.Cmd, img.Cmd))) spec.command = [...c.Config.Cmd];

  const env = stripEnv(c.Config.Env, img.Env);
  if (Object.keys(env).length > 0) spec.env = env;

  const ports = portStrings(c.HostConfig.PortBindings);
  if (ports.length > 0) spec.ports = ports;
  const exposedOnly = Object.keys(c.Config.ExposedPorts ?? {}).filter((p) => !(p in (img.ExposedPorts ?? {})) && !(p in (c.HostConfig.PortBindings ?? {})));
  if (exposedOnly.length > 0) notes.push(`exposed but not published: ${exposedOnly.join(', ')} (the repo has no expose key; reach it over a shared network)`);

  const { volumes, named, tmpfs } = volumesOf(c, container.image, notes);
  if (volumes.length > 0) spec.volumes = volumes;
  const tmpfsMap = Object.entries(c.HostConfig.Tmpfs ?? {}).map(([path, opts]) => (opts ? `${path}:${opts}` : path));
  if (tmpfsMap.length + tmpfs.length > 0) spec.tmpfs = [...tmpfsMap, ...tmpfs];

  const restart = c.HostConfig.RestartPolicy?.Name ?? '';
  if (restart === 'always' || restart === 'on-failure' || restart === 'unless-stopped') spec.restart = restart;
  if (restart === 'on-failure' && (c.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0) > 0) notes.push('restart on-failure keeps no retry count in the repo (MaximumRetryCount left out)');

  const service = c.Config.Labels?.[COMPOSE_SERVICE_LABEL];
  const net = networksOf(c, service ? [service] : []);
  if (net.network !== undefined) spec.network = net.network;
  if (net.networks !== undefined) spec.networks = net.networks;

  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.Config.Labels ?? {})) {
    if (generatedLabel.test(k) || img.Labels?.[k] === v) continue;
    labels[k] = v;
  }
  if (Object.keys(labels).length > 0) spec.labels = labels;

  if (c.Config.Healthcheck && !sameHealthcheck(c.Config.Healthcheck, img.Healthcheck)) spec.healthcheck = healthcheckOf(c.Config.Healthcheck);
  if (c.State?.Running === false) spec.state = 'stopped';
  if (c.Config.User && c.Config.User !== (img.User ?? '')) spec.user = c.Config.User;
  if (c.Config.WorkingDir && c.Config.WorkingDir !== (img.WorkingDir ?? '')) spec.working_dir = c.Config.WorkingDir;
  // The engine names a container's host after its short id, or the host's own name with network host.
  if (c.Config.Hostname && c.Config.Hostname !== c.Id.slice(0, 12) && spec.network !== 'host' && !c.HostConfig.NetworkMode?.startsWith('container:')) spec.hostname = c.Config.Hostname;

  const h = c.HostConfig;
  if (h.Privileged) spec.privileged = true;
  if (h.Init) spec.init = true;
  if (h.ReadonlyRootfs) spec.read_only = true;
  if (h.CapAdd && h.CapAdd.length > 0) spec.cap_add = [...h.CapAdd];
  if (h.CapDrop && h.CapDrop.length > 0) spec.cap_drop = [...h.CapDrop];
  if (h.Devices && h.Devices.length > 0) {
    spec.devices = h.Devices.map((d) => `${d.PathOnHost}:${d.PathInContainer}${d.CgroupPermissions && d.CgroupPermissions !== 'rwm' ? `:${d.CgroupPermissions}` : ''}`);
  }
  if (h.Memory) spec.mem_limit = bytesToSize(h.Memory);
  if (h.MemoryReservation) spec.mem_reservation = bytesToSize(h.MemoryReservation);
  if (h.PidsLimit && h.PidsLimit > 0) spec.pids_limit = h.PidsLimit;
  if (h.NanoCpus) spec.cpus = h.NanoCpus / 1e9;
  const log = h.LogConfig;
  const logOptions = log?.Config ?? {};
  if (log?.Type && (log.Type !== defaultLogDriver || Object.keys(logOptions).length > 0)) {
    spec.logging = Object.keys(logOptions).length > 0 ? { driver: log.Type, options: { ...logOptions } } : { driver: log.Type };
  }
  if (h.ExtraHosts && h.ExtraHosts.length > 0) spec.extra_hosts = [...h.ExtraHosts];
  if (h.Ulimits && h.Ulimits.length > 0) spec.ulimits = Object.fromEntries(h.Ulimits.map((u) => [u.Name, { soft: u.Soft, hard: u.Hard }]));
  if (c.Config.StopSignal && c.Config.StopSignal !== (img.StopSignal ?? 'SIGTERM') && c.Config.StopSignal !== 'SIGTERM') spec.stop_signal = c.Config.StopSignal;
  if (typeof c.Config.StopTimeout === 'number' && c.Config.StopTimeout !== 10) spec.stop_grace_period = `${c.Config.StopTimeout}s`;

  return { name: containerName(c), spec, networks: net.joined, volumes: named, notes };
}
