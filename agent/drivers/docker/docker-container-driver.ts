// The ContainerDriver over a real Docker engine (dockerode on the Unix socket).
// Every method translates engine errors into GitfleetErrors (engine-errors.ts).
import Dockerode from 'dockerode';
import type { ContainerInfo, ContainerInspectInfo } from 'dockerode';
import type { ContainerSpec, NetworkSpec, VolumeSpec } from '../../../shared/resources.ts';
import type { ContainerDriver, ContainerEvent, LiveContainer, LiveNetwork, LiveVolume, NetworkVolumeOps } from '../types.ts';
import { dockerNetworkOps } from './network-ops.ts';
import { dockerVolumeOps } from './volume-ops.ts';
import { toLiveContainer } from './inspect-cache.ts';
import { extraNetworks, toCreateBody } from './container-config.ts';
import { statusOf, translateEngineError } from './engine-errors.ts';
import { watchContainerEvents } from './event-watch.ts';
import { containerLogs } from './container-logs.ts';
import { ensureImage, type PullPolicy } from './image-pull.ts';
import { InspectCache } from './inspect-cache.ts';
import { ImageLabelCache, withoutImageLabels } from './image-labels.ts';
import { imageDefaultsOf, noImageDefaults, type RawImageConfig } from './config-view.ts';
import type { ImageDefaults } from '../types.ts';
import { detectContainerEngine } from './engine-kind.ts';
import { podmanInspectAsDocker } from './podman-inspect.ts';
import { assertAliasesResolve } from './podman-network-dns.ts';

export interface DockerContainerDriverOptions {
  /** Default /var/run/docker.sock. */
  socketPath?: string;
  /** Backoff of the event stream's reconnects (ms). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

const inspectConcurrency = 16;

export class DockerContainerDriver implements ContainerDriver {
  readonly socketPath: string;
  private readonly docker: Dockerode;
  private readonly options: DockerContainerDriverOptions;
  private readonly inspectCache = new InspectCache();
  private readonly imageLabels = new ImageLabelCache();
  /** Image defaults by image id, filled with the labels (an id's config never changes). */
  private readonly imageDefaults = new Map<string, ImageDefaults>();

  constructor(options: DockerContainerDriverOptions = {}) {
    this.options = options;
    this.socketPath = options.socketPath ?? '/var/run/docker.sock';
    this.docker = new Dockerode({ socketPath: this.socketPath });
    this.networks = dockerNetworkOps(this.docker, this.socketPath);
    this.volumes = dockerVolumeOps(this.docker, this.socketPath);
  }

  readonly networks: NetworkVolumeOps<LiveNetwork, NetworkSpec>;
  readonly volumes: NetworkVolumeOps<LiveVolume, VolumeSpec>;

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw translateEngineError(error, 'ping the Docker daemon', this.socketPath);
    }
  }

  async list(): Promise<LiveContainer[]> {
    let summaries: ContainerInfo[];
    try {
      summaries = await this.docker.listContainers({ all: true });
    } catch (error) {
      throw translateEngineError(error, 'list containers', this.socketPath);
    }
    // Restart count and start time are only in inspect. An inspect per container
    // per pass would make a no-op pass on 50 containers cost ~100 ms, so inspects
    // are cached and repeated only when the list's Status text shows a change.
    const now = Date.now();
    const stale = summaries.filter((s) => !this.inspectCache.isFresh(s, now));
    let next = 0;
    const worker = async () => {
      while (next < stale.length) {
        const summary = stale[next++] as ContainerInfo;
        const read = await this.inspectWithImage(summary.Id);
        if (read) this.inspectCache.put(summary.Id, read.info, read.labels, read.image);
        else this.inspectCache.put(summary.Id, null);
      }
    };
    await Promise.all(Array.from({ length: Math.min(inspectConcurrency, stale.length) }, worker));
    this.inspectCache.retain(new Set(summaries.map((s) => s.Id)));
    return summaries.flatMap((s) => {
      const live = this.inspectCache.liveFor(s);
      return live ? [live] : [];
    });
  }

  /** One container, or null when it does not exist (e.g. removed since the list). */
  async inspect(nameOrId: string): Promise<LiveContainer | null> {
    const read = await this.inspectWithImage(nameOrId);
    return read ? toLiveContainer(read.info, read.labels, read.image) : null;
  }

  /** Which engine serves the socket, asked once (again after a failed ask): Podman's inspects are put in Docker's words. */
  #engine: Promise<string | null> | null = null;
  private async isPodman(): Promise<boolean> {
    this.#engine ??= detectContainerEngine(this.socketPath).then((e) => e?.name ?? null);
    const name = await this.#engine;
    if (name === null) this.#engine = null;
    return name === 'podman';
  }

  /** A container's inspect in Docker's words, with its image's labels and defaults; null when it does not exist. */
  private async inspectWithImage(nameOrId: string): Promise<{ info: ContainerInspectInfo; labels: Record<string, string>; image: ImageDefaults } | null> {
    const raw = await this.inspectRaw(nameOrId);
    if (!raw) return null;
    const labels = await this.labelsOfImage(raw.Image);
    const image = this.imageDefaults.get(raw.Image) ?? noImageDefaults;
    const info = (await this.isPodman()) ? podmanInspectAsDocker(raw, { env: image.env, workingDir: image.workingDir }) : raw;
    return { info, labels, image };
  }

  /** The labels an image carries (by id or reference); {} when it is gone (then nothing is left out). */
  private async labelsOfImage(image: string): Promise<Record<string, string>> {
    const cached = this.imageLabels.get(image);
    if (cached && this.imageDefaults.has(image)) return cached;
    let info: { Id: string; Config?: { Labels?: Record<string, string> | null } & RawImageConfig };
    try {
      info = (await this.docker.getImage(image).inspect()) as typeof info;
    } catch (error) {
      if (statusOf(error) === 404) return {};
      throw translateEngineError(error, `inspect image ${image}`, this.socketPath);
    }
    const labels = { ...(info.Config?.Labels ?? {}) };
    // Only ids are cached: a reference can be re-pointed to another image.
    this.imageLabels.put(info.Id, labels);
    if (this.imageDefaults.size >= 512) this.imageDefaults.clear();
    this.imageDefaults.set(info.Id, imageDefaultsOf(info.Config));
    return labels;
  }

  private async inspectRaw(nameOrId: string): Promise<ContainerInspectInfo | null> {
    try {
      return await this.docker.getContainer(nameOrId).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw translateEngineError(error, `inspect container ${nameOrId}`, this.socketPath);
    }
  }

  ensureImage(image: string, policy: PullPolicy): Promise<string> {
    return ensureImage(this.docker, image, policy, this.socketPath);
  }

  async create(name: string, spec: ContainerSpec, labels: Record<string, string>): Promise<string> {
    const body = { ...toCreateBody(spec, labels), name };
    if (await this.isPodman()) await assertAliasesResolve(this.docker, name, spec, this.socketPath);
    try {
      const container = await this.docker.createContainer(body);
      for (const net of extraNetworks(spec)) {
        await this.docker.getNetwork(net.name).connect({ Container: container.id, EndpointConfig: net.aliases.length > 0 ? { Aliases: net.aliases } : {} });
      }
      return container.id;
    } catch (error) {
      throw translateEngineError(error, `create container ${name}`, this.socketPath);
    }
  }

  async start(nameOrId: string): Promise<void> {
    try {
      await this.docker.getContainer(nameOrId).start();
    } catch (error) {
      if (statusOf(error) === 304) return; // already running
      throw translateEngineError(error, `start container ${nameOrId}`, this.socketPath);
    }
  }

  async stop(nameOrId: string, timeoutSeconds?: number): Promise<void> {
    try {
      // Without t the engine uses the container's StopTimeout (stop_grace_period), else 10 s.
      await this.docker.getContainer(nameOrId).stop(timeoutSeconds === undefined ? {} : { t: timeoutSeconds });
    } catch (error) {
      if (statusOf(error) === 304) return; // not running
      throw translateEngineError(error, `stop container ${nameOrId}`, this.socketPath);
    }
  }

  async remove(nameOrId: string): Promise<void> {
    try {
      await this.docker.getContainer(nameOrId).remove({ force: true, v: true });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      if (status === 409 && /already in progress/i.test(String((error as Error).message))) return;
      throw translateEngineError(error, `remove container ${nameOrId}`, this.socketPath);
    }
  }

  logs(nameOrId: string, lines: number): Promise<string[]> {
    return containerLogs(this.docker, nameOrId, lines, this.socketPath);
  }

  watch(onEvent: (event: ContainerEvent) => void, onError?: (error: Error) => void, onConnect?: () => void): () => void {
    return watchContainerEvents({
      docker: this.docker,
      socketPath: this.socketPath,
      onEvent,
      // The engine puts the image's labels into every event's attributes too.
      transform: async (event, image) => (image === undefined ? event : { ...event, labels: withoutImageLabels(event.labels, await this.labelsOfImage(image).catch(() => ({}))) }),
      onError: onError ?? (() => {}),
      onConnect: onConnect ?? (() => {}),
      ...(this.options.reconnectMinMs !== undefined ? { minBackoffMs: this.options.reconnectMinMs } : {}),
      ...(this.options.reconnectMaxMs !== undefined ? { maxBackoffMs: this.options.reconnectMaxMs } : {}),
    });
  }
}
