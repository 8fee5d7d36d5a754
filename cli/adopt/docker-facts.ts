// What `gitfleet adopt` reads from a Docker engine, as plain data: the parts
// of `docker inspect` (container, image, network, volume) the mapping uses.
// Kept apart from dockerode's types so the mapping is pure and its tests
// build these records by hand.

export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** The image's own defaults (`docker image inspect` .Config). */
export interface ImageDefaults {
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  User?: string;
  WorkingDir?: string;
  ExposedPorts?: Record<string, unknown> | null;
  Healthcheck?: HealthConfig | null;
  Labels?: Record<string, string> | null;
  Volumes?: Record<string, unknown> | null;
  StopSignal?: string;
}

export interface MountFact {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  RW?: boolean;
}

/** `docker inspect CONTAINER`, the fields used. */
export interface ContainerFacts {
  Id: string;
  /** With the leading slash, as the engine reports it. */
  Name: string;
  State?: { Running?: boolean; Status?: string };
  Config: ImageDefaults & { Image: string; Hostname?: string; StopTimeout?: number | null };
  HostConfig: {
    Binds?: string[] | null;
    Mounts?: { Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }[] | null;
    PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
    NetworkMode?: string;
    Privileged?: boolean;
    Init?: boolean | null;
    ReadonlyRootfs?: boolean;
    CapAdd?: string[] | null;
    CapDrop?: string[] | null;
    Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[] | null;
    Memory?: number;
    MemoryReservation?: number;
    PidsLimit?: number | null;
    NanoCpus?: number;
    LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null;
    ExtraHosts?: string[] | null;
    Tmpfs?: Record<string, string> | null;
    Ulimits?: { Name: string; Soft: number; Hard: number }[] | null;
  };
  Mounts?: MountFact[] | null;
  NetworkSettings?: { Networks?: Record<string, { Aliases?: string[] | null } | null> | null };
}

export interface NetworkFacts {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface VolumeFacts {
  Name: string;
  Driver?: string;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** One container as adopt sees it: its inspection and its image's defaults (null: the image is gone). */
export interface InspectedContainer {
  facts: ContainerFacts;
  image: ImageDefaults | null;
}

/** Everything read from one engine. */
export interface EngineFacts {
  containers: InspectedContainer[];
  networks: Map<string, NetworkFacts>;
  volumes: Map<string, VolumeFacts>;
  /** The engine's default log driver (`docker info` LoggingDriver): a container using it needs no logging key. */
  defaultLogDriver: string;
}

export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';
export const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';

export function containerName(c: ContainerFacts): string {
  return c.Name.replace(/^\//, '');
}
