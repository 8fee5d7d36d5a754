// The driver interfaces: the only way the engine touches a host. Each has an
// in-memory implementation for fast tests and a real one (dockerode,
// systemctl, fs); one contract suite per interface keeps them honest.
// Drivers translate every library or process error into a GitfleetError, so
// nothing above this layer sees a dockerode or child_process error.
import type { ContainerSpec, FileSpec, NetworkSpec, UnitSpec, VolumeSpec } from '../../shared/resources.ts';

/** Labels the agent puts on every container it creates. */
export const containerLabels = {
  managedBy: 'io.gitfleet.managed-by',
  resource: 'io.gitfleet.resource',
  configHash: 'io.gitfleet.config-hash',
  revision: 'io.gitfleet.revision',
  /** On a volume: `true` when it was declared with prune: true (read when it is no longer declared). */
  prune: 'io.gitfleet.prune',
} as const;
export const MANAGED_BY = 'gitfleet';

// ---------------------------------------------------------------- containers

export type ContainerRunState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface LiveContainer {
  id: string;
  /** Without the leading slash. */
  name: string;
  image: string;
  imageId: string;
  labels: Record<string, string>;
  state: ContainerRunState;
  /** Healthcheck state when the container has one. */
  health: 'starting' | 'healthy' | 'unhealthy' | null;
  exitCode: number | null;
  restartCount: number;
  startedAt: string | null;
  /**
   * How the container was created, as the engine holds it (with its image's
   * defaults): what adoption compares a declaration with (agent/engine/container-match.ts).
   * Absent when the driver cannot tell.
   */
  config?: ContainerConfigView;
}

/** The image defaults the engine fills in at create when the body leaves a key out. */
export interface ImageDefaults {
  cmd: string[] | null;
  entrypoint: string[] | null;
  env: string[];
  user: string;
  workingDir: string;
  healthcheck: HealthcheckView | null;
  /** Anonymous volume targets the image declares. */
  volumes: string[];
  stopSignal: string | null;
}

export interface HealthcheckView {
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  retries: number;
}

/**
 * A container's create-time configuration in one normalized shape, whether it
 * comes from an engine inspect or from a create body (both drivers, and the
 * declaration, use agent/drivers/docker/config-view.ts): lists sorted, unset
 * and empty alike. `null` in a declared view means "whatever the engine chose".
 */
export interface ContainerConfigView {
  image: string;
  cmd: string[];
  entrypoint: string[];
  env: string[];
  labels: Record<string, string>;
  user: string;
  workingDir: string;
  hostname: string | null;
  stopSignal: string;
  stopTimeout: number | null;
  healthcheck: HealthcheckView | null;
  /** Bind mounts and named volumes as `source:target[:options]`, then anonymous volume targets. */
  volumes: string[];
  /** `port/proto=hostIp:hostPort`. */
  ports: string[];
  restart: string;
  networkMode: string;
  /** User-defined networks joined (null: not compared). */
  networks: string[] | null;
  privileged: boolean;
  init: boolean;
  readOnly: boolean;
  capAdd: string[];
  capDrop: string[];
  devices: string[];
  memory: number;
  memoryReservation: number;
  pidsLimit: number;
  nanoCpus: number;
  logging: string | null;
  extraHosts: string[];
  tmpfs: string[];
  ulimits: string[];
  /** The image's defaults, so a declaration can be completed the way the engine completes it. */
  imageDefaults: ImageDefaults;
}

export const containerEventActions = ['die', 'stop', 'destroy', 'oom', 'health_status', 'start', 'create', 'kill'] as const;

export interface ContainerEvent {
  action: (typeof containerEventActions)[number];
  name: string;
  id: string;
  labels: Record<string, string>;
  /** On `die`: the exit code. */
  exitCode?: number;
  /** On `health_status`: the new health. */
  health?: 'starting' | 'healthy' | 'unhealthy';
  /** Engine time of the event, milliseconds since the epoch. */
  time?: number;
}

export interface ContainerDriver {
  /** Throws DOCKER_UNAVAILABLE when the daemon does not answer. */
  ping(): Promise<void>;
  /** Every container on the host, managed or not, running or not. */
  list(): Promise<LiveContainer[]>;
  /** Makes `image` available locally per `policy`; IMAGE_NOT_FOUND when it cannot. Returns the image id. */
  ensureImage(image: string, policy: 'always' | 'missing' | 'never'): Promise<string>;
  /** Creates (not starts) a container with every key of `spec` applied; returns its id. */
  create(name: string, spec: ContainerSpec, labels: Record<string, string>): Promise<string>;
  start(nameOrId: string): Promise<void>;
  /** `timeoutSeconds` before SIGKILL; defaults to the spec's stop_grace_period or 10. */
  stop(nameOrId: string, timeoutSeconds?: number): Promise<void>;
  /** Force-removes (stops first); anonymous volumes are removed too. No error when already gone. */
  remove(nameOrId: string): Promise<void>;
  /** The container's last log lines (stdout and stderr, oldest first); optional: a driver without it reports no logs. */
  logs?(nameOrId: string, lines: number): Promise<string[]>;
  /**
   * Subscribes to container events; returns an unsubscribe function. Reconnects
   * by itself with backoff: each lost connection or failed attempt goes to
   * `onError` (a DOCKER_UNAVAILABLE GitfleetError). `onConnect` runs each time
   * the stream is established — first time and after every reconnect; events
   * during an outage may be lost, so re-observe the host then.
   */
  watch(onEvent: (event: ContainerEvent) => void, onError?: (error: Error) => void, onConnect?: () => void): () => void;
  /** Networks and volumes (docs/compose.md); a driver without them cannot observe those kinds. */
  networks?: NetworkVolumeOps<LiveNetwork, NetworkSpec>;
  volumes?: NetworkVolumeOps<LiveVolume, VolumeSpec>;
}

export interface LiveNetwork {
  name: string;
  driver: string;
  internal: boolean;
  labels: Record<string, string>;
  /** Names of the containers attached. */
  containers: string[];
}

export interface LiveVolume {
  name: string;
  driver: string;
  labels: Record<string, string>;
}

export interface NetworkVolumeOps<L, S> {
  list(): Promise<L[]>;
  /** Creates with every key of `spec` applied and `labels` over the spec's own. */
  create(name: string, spec: S, labels: Record<string, string>): Promise<void>;
  /** No error when already gone; DOCKER_FAILED when still in use. */
  remove(name: string): Promise<void>;
}

// ---------------------------------------------------------------- units

export interface LiveUnit {
  name: string;
  /** The unit file in the agent's unit directory (null when absent). */
  content: string | null;
  /** Drop-ins in `<unit>.d/` that the agent writes (file name → content). */
  dropins: Record<string, string>;
  /** `enabled`, `disabled`, `masked`, `static`, `not-found`… as systemctl says. */
  unitFileState: string;
  /** `active`, `inactive`, `failed`, `activating`… */
  activeState: string;
  subState: string;
  /** `success`, `exit-code`, `start-limit-hit`… */
  result: string;
  nRestarts: number;
  /** `loaded`, `not-found`, `masked`, `bad-setting`… (set by both unit drivers). */
  loadState?: string;
  /** The files on disk differ from what systemd loaded: a daemon-reload is due (set by both unit drivers). */
  needDaemonReload?: boolean;
  /** Services: `simple`, `oneshot`, `notify`, `forking`… ('' when not a service or not loaded). */
  serviceType?: string;
  /** Services: RemainAfterExit=yes. */
  remainAfterExit?: boolean;
  /** The timers, sockets and paths that activate this unit (systemd's TriggeredBy=). */
  triggeredBy?: string[];
  /** The last main process's exit status, when it exited (null: never ran, or killed by a signal). */
  exitCode?: number | null;
  /** The signal that killed the last main process (`SIGKILL`…), null when it exited or never ran. */
  signal?: string | null;
  /** Whether the unit's Condition…= checks held at its last start; null when never checked. */
  conditionMet?: boolean | null;
}

export interface UnitDriver {
  observe(names: string[]): Promise<LiveUnit[]>;
  /**
   * Writes the unit file and its drop-ins atomically; removes drop-ins not listed.
   * `content` null: a unit the agent does not own (the distribution's) — its unit
   * file is never touched, and of the unlisted drop-ins only those carrying the
   * gitfleet marker are removed.
   */
  write(name: string, content: string | null, dropins: Record<string, string>): Promise<void>;
  /** Deletes the unit file and its drop-in directory. */
  delete(name: string): Promise<void>;
  daemonReload(): Promise<void>;
  /** One unit, or several in one systemctl call (the runner batches a pass's enables). */
  enable(names: string | string[]): Promise<void>;
  disable(name: string): Promise<void>;
  unmask(name: string): Promise<void>;
  /** `systemctl mask`: links the unit to /dev/null in the unit directory (refused when a real unit file sits there). */
  mask(name: string): Promise<void>;
  /** The unit's last journal lines (`journalctl -u NAME -n LINES -o cat`), oldest first; [] when there are none. */
  logs(name: string, lines: number): Promise<string[]>;
  /** One unit, or several in one systemctl call (the runner batches a pass's starts). */
  start(names: string | string[]): Promise<void>;
  stop(name: string): Promise<void>;
  restart(name: string): Promise<void>;
  /** Clears a failed state so a start can be retried. */
  resetFailed(name: string): Promise<void>;
}

// ---------------------------------------------------------------- files

export interface LiveFile {
  path: string;
  exists: boolean;
  content: string | null;
  /** Octal string, four digits: "0644". */
  mode: string | null;
  owner: string | null;
  group: string | null;
  /** The numeric ids behind owner/group (a spec may name an owner by id, as a container's `secrets: uid` does). */
  uid?: number;
  gid?: number;
}

export interface FileDriver {
  observe(paths: string[]): Promise<LiveFile[]>;
  /** Atomic write (temp + rename in the same directory), parents created; refuses symlinks in the path. */
  write(path: string, spec: FileSpec): Promise<void>;
  /** Fixes mode/owner/group without rewriting content. */
  setAttributes(path: string, spec: FileSpec): Promise<void>;
  remove(path: string): Promise<void>;
}

export interface Drivers {
  containers: ContainerDriver;
  units: UnitDriver;
  files: FileDriver;
}

export type { ContainerSpec, FileSpec, UnitSpec };
