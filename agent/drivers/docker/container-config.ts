// ContainerSpec (the fleet repository's Compose-named keys) → the body of the
// Engine API's POST /containers/create. Pure: no I/O, so both drivers validate
// a spec the same way and a unit table pins every key.
//
// Choices, following Compose where it has one:
// - `command`/`entrypoint` as a string are split into words like a shell would
//   (no `sh -c` is added); as a list they pass through unchanged.
// - `env` values that are numbers or booleans are stringified (true → "true").
// - `labels` from the spec are merged with the caller's ownership labels; the
//   caller's win, so a spec cannot forge io.gitfleet.* ownership.
// - `healthcheck.test` as a string runs through the shell (CMD-SHELL); as a list
//   it must start with CMD, CMD-SHELL or NONE, as in Compose. Durations → ns.
// - `stop_grace_period` → StopTimeout in whole seconds, rounded up.
// - `network` (Compose: `network_mode`) is the engine's NetworkMode (bridge,
//   host, none, container:x or a user-defined network); unset leaves the
//   engine default. `networks` joins user-defined networks with aliases.
// - `environment` is the Compose name of `env` (the schema allows one of them).
// - `pull`, `state`, `drift` and `depends_on` steer the agent, not the container.
import type { ContainerCreateOptions, HostConfig } from 'dockerode';
import type { ContainerSpec } from '../../../shared/resources.ts';
import { GitfleetError } from '../../../shared/errors.ts';
import { byteSizeToBytes, cpusToNano, durationToNs, durationToWholeSeconds, invalid } from './quantities.ts';
import { splitShellWords } from './shell-words.ts';
import { translatePorts } from './port-bindings.ts';
import { translateVolumes } from './volume-binds.ts';

export type CreateBody = ContainerCreateOptions & { HostConfig: HostConfig };

type Applier<K extends keyof ContainerSpec> = (value: NonNullable<ContainerSpec[K]>, body: CreateBody) => void;

const notForTheContainer = () => {};

/**
 * One entry per key of ContainerSpec: a key added to the schema without an
 * entry here is a compile error, so no key is ever silently ignored.
 */
const appliers: { [K in keyof ContainerSpec]-?: Applier<K> } = {
  image: (v, b) => { b.Image = v; },
  command: (v, b) => { b.Cmd = typeof v === 'string' ? splitShellWords(v, 'command') : [...v]; },
  entrypoint: (v, b) => { b.Entrypoint = typeof v === 'string' ? splitShellWords(v, 'entrypoint') : [...v]; },
  env: (v, b) => {
    b.Env = Object.entries(v).map(([key, value]) => {
      if (key === '' || key.includes('=')) throw invalid('env', key, 'a variable name (non-empty, without =)');
      return `${key}=${String(value)}`;
    });
  },
  ports: (v, b) => {
    const { exposedPorts, portBindings } = translatePorts(v);
    b.ExposedPorts = exposedPorts;
    b.HostConfig.PortBindings = portBindings;
  },
  volumes: (v, b) => {
    const { binds, anonymous } = translateVolumes(v);
    if (binds.length > 0) b.HostConfig.Binds = binds;
    if (Object.keys(anonymous).length > 0) b.Volumes = anonymous;
  },
  restart: (v, b) => { b.HostConfig.RestartPolicy = { Name: v, MaximumRetryCount: 0 }; },
  network: (v, b) => { b.HostConfig.NetworkMode = v; },
  network_mode: (v, b) => { b.HostConfig.NetworkMode = v; },
  environment: (v, b) => { appliers.env(v, b); },
  networks: (v, b) => {
    // Engine API 1.41 joins one network at create; the driver connects the others (extraNetworks).
    const joined = networkList(v);
    const first = joined[0];
    if (!first) return;
    b.HostConfig.NetworkMode = first.name;
    b.NetworkingConfig = { EndpointsConfig: { [first.name]: first.aliases.length > 0 ? { Aliases: [...first.aliases] } : {} } };
  },
  labels: (v, b) => { b.Labels = { ...v, ...b.Labels }; },
  healthcheck: (v, b) => {
    if (v.disable === true) {
      b.Healthcheck = { Test: ['NONE'] };
      return;
    }
    let test: string[];
    if (typeof v.test === 'string') test = ['CMD-SHELL', v.test];
    else if (['CMD', 'CMD-SHELL', 'NONE'].includes(v.test[0] ?? '')) test = [...v.test];
    else throw invalid('healthcheck.test', v.test, 'a string, or a list starting with CMD, CMD-SHELL or NONE');
    b.Healthcheck = { Test: test };
    if (v.interval !== undefined) b.Healthcheck.Interval = durationToNs(v.interval, 'healthcheck.interval');
    if (v.timeout !== undefined) b.Healthcheck.Timeout = durationToNs(v.timeout, 'healthcheck.timeout');
    if (v.start_period !== undefined) b.Healthcheck.StartPeriod = durationToNs(v.start_period, 'healthcheck.start_period');
    if (v.retries !== undefined) b.Healthcheck.Retries = v.retries;
  },
  pull: notForTheContainer,
  state: notForTheContainer,
  drift: notForTheContainer,
  depends_on: notForTheContainer,
  // Evaluation turns `secrets` into file resources and read-only mounts (repo/tree/container-secrets.ts);
  // one reaching the driver would be a bug, and its values must not go into the create body (env, labels).
  secrets: () => { throw new GitfleetError('INTERNAL', 'container secrets reached the Docker driver unevaluated (they are file mounts)'); },
  user: (v, b) => { b.User = v; },
  working_dir: (v, b) => { b.WorkingDir = v; },
  hostname: (v, b) => { b.Hostname = v; },
  privileged: (v, b) => { b.HostConfig.Privileged = v; },
  init: (v, b) => { b.HostConfig.Init = v; },
  read_only: (v, b) => { b.HostConfig.ReadonlyRootfs = v; },
  cap_add: (v, b) => { b.HostConfig.CapAdd = [...v]; },
  cap_drop: (v, b) => { b.HostConfig.CapDrop = [...v]; },
  devices: (v, b) => { b.HostConfig.Devices = v.map(parseDevice); },
  mem_limit: (v, b) => { b.HostConfig.Memory = byteSizeToBytes(v, 'mem_limit'); },
  mem_reservation: (v, b) => { b.HostConfig.MemoryReservation = byteSizeToBytes(v, 'mem_reservation'); },
  pids_limit: (v, b) => { b.HostConfig.PidsLimit = v; },
  cpus: (v, b) => { b.HostConfig.NanoCpus = cpusToNano(v, 'cpus'); },
  logging: (v, b) => { b.HostConfig.LogConfig = { Type: v.driver, Config: { ...v.options } }; },
  extra_hosts: (v, b) => { b.HostConfig.ExtraHosts = v.map(parseExtraHost); },
  tmpfs: (v, b) => {
    const entries = typeof v === 'string' ? [v] : v;
    const tmpfs: Record<string, string> = {};
    for (const entry of entries) {
      const colon = entry.indexOf(':');
      const path = colon < 0 ? entry : entry.slice(0, colon);
      if (!path.startsWith('/')) throw invalid('tmpfs', entry, 'an absolute path, optionally with :options');
      tmpfs[path] = colon < 0 ? '' : entry.slice(colon + 1);
    }
    b.HostConfig.Tmpfs = tmpfs;
  },
  ulimits: (v, b) => {
    b.HostConfig.Ulimits = Object.entries(v).map(([name, limit]) =>
      typeof limit === 'number' ? { Name: name, Soft: limit, Hard: limit } : { Name: name, Soft: limit.soft, Hard: limit.hard },
    );
  },
  stop_signal: (v, b) => { b.StopSignal = v; },
  stop_grace_period: (v, b) => { b.StopTimeout = durationToWholeSeconds(v, 'stop_grace_period'); },
};

/**
 * The create body for `spec`, with `labels` (ownership, config hash) merged over
 * the spec's own labels. Throws INVALID_VALUE naming the key for a value the
 * engine would reject or misread.
 */
export function toCreateBody(spec: ContainerSpec, labels: Record<string, string>): CreateBody {
  const body: CreateBody = { Image: spec.image, Labels: { ...labels }, HostConfig: {} };
  for (const key of Object.keys(spec) as Array<keyof ContainerSpec>) {
    const value = spec[key];
    if (value === undefined) continue;
    const apply = appliers[key] as Applier<typeof key> | undefined;
    if (!apply) throw invalid(key, value, 'a known container key');
    apply(value as never, body);
  }
  return body;
}

/** The networks of a spec in order, with their aliases (list or map form). */
export function networkList(v: NonNullable<ContainerSpec['networks']>): { name: string; aliases: string[] }[] {
  if (Array.isArray(v)) return v.map((name) => ({ name, aliases: [] }));
  return Object.entries(v).map(([name, opts]) => ({ name, aliases: opts?.aliases ?? [] }));
}

/** Networks to connect after create (all but the first, which the create body joins). */
export function extraNetworks(spec: ContainerSpec): { name: string; aliases: string[] }[] {
  return spec.networks === undefined ? [] : networkList(spec.networks).slice(1);
}

/** The keys toCreateBody knows, for tests that prove each one lands. */
export const containerSpecKeys = Object.keys(appliers) as Array<keyof ContainerSpec>;

function parseDevice(entry: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const [host, container, permissions, ...rest] = entry.split(':');
  const bad = () => invalid('devices', entry, 'a device like "/dev/fuse" or "/dev/sda:/dev/xvda:rwm"');
  if (rest.length > 0 || !host?.startsWith('/')) throw bad();
  if (container !== undefined && !container.startsWith('/')) throw bad();
  if (permissions !== undefined && !/^[rwm]{1,3}$/.test(permissions)) throw bad();
  return { PathOnHost: host, PathInContainer: container ?? host, CgroupPermissions: permissions ?? 'rwm' };
}

function parseExtraHost(entry: string): string {
  // Compose accepts "host:ip" and "host=ip"; the engine wants "host:ip". The name
  // ends at the first separator, so IPv6 addresses keep their colons.
  const match = /^([^:=\s]+)[:=](\S+)$/.exec(entry);
  if (!match) throw invalid('extra_hosts', entry, 'a mapping like "db:192.0.2.10" or "db=192.0.2.10"');
  return `${match[1]}:${match[2]}`;
}
