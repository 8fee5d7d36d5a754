// The ContainerDriver over a real Docker engine (dockerode on the Unix socket).
// Every method translates engine errors into GitfleetErrors (engine-errors.ts).
import Dockerode from 'dockerode';
import type { ContainerInfo, ContainerInspectInfo } from 'dockerode';
import type { ContainerSpec } from '../../../shared/resources.ts';
import type { ContainerDriver, ContainerEvent, ContainerRunState, LiveContainer } from '../types.ts';
import { toCreateBody } from './container-config.ts';
import { statusOf, translateEngineError } from './engine-errors.ts';
import { watchContainerEvents } from './event-watch.ts';
import { ensureImage, type PullPolicy } from './image-pull.ts';

export interface DockerContainerDriverOptions {
  /** Default /var/run/docker.sock. */
  socketPath?: string;
  /** Backoff of the event stream's reconnects (ms). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

const neverStarted = '0001-01-01T00:00:00Z';
const inspectConcurrency = 16;

export class DockerContainerDriver implements ContainerDriver {
  readonly socketPath: string;
  private readonly docker: Dockerode;
  private readonly options: DockerContainerDriverOptions;

  constructor(options: DockerContainerDriverOptions = {}) {
    this.options = options;
    this.socketPath = options.socketPath ?? '/var/run/docker.sock';
    this.docker = new Dockerode({ socketPath: this.socketPath });
  }

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
    // Exit code, restart count and start time are only in inspect; a bounded
    // number of inspects at once keeps a big host from flooding the socket.
    const live: Array<LiveContainer | null> = new Array(summaries.length).fill(null);
    let next = 0;
    const worker = async () => {
      while (next < summaries.length) {
        const i = next++;
        live[i] = await this.inspect((summaries[i] as ContainerInfo).Id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(inspectConcurrency, summaries.length) }, worker));
    return live.filter((c): c is LiveContainer => c !== null);
  }

  /** One container, or null when it does not exist (e.g. removed since the list). */
  async inspect(nameOrId: string): Promise<LiveContainer | null> {
    let info: ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(nameOrId).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw translateEngineError(error, `inspect container ${nameOrId}`, this.socketPath);
    }
    return toLiveContainer(info);
  }

  ensureImage(image: string, policy: PullPolicy): Promise<string> {
    return ensureImage(this.docker, image, policy, this.socketPath);
  }

  async create(name: string, spec: ContainerSpec, labels: Record<string, string>): Promise<string> {
    const body = { ...toCreateBody(spec, labels), name };
    try {
      const container = await this.docker.createContainer(body);
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

  watch(onEvent: (event: ContainerEvent) => void, onError?: (error: Error) => void, onConnect?: () => void): () => void {
    return watchContainerEvents({
      docker: this.docker,
      socketPath: this.socketPath,
      onEvent,
      onError: onError ?? (() => {}),
      onConnect: onConnect ?? (() => {}),
      ...(this.options.reconnectMinMs !== undefined ? { minBackoffMs: this.options.reconnectMinMs } : {}),
      ...(this.options.reconnectMaxMs !== undefined ? { maxBackoffMs: this.options.reconnectMaxMs } : {}),
    });
  }
}

export function toLiveContainer(info: ContainerInspectInfo): LiveContainer {
  const state = info.State.Status as ContainerRunState;
  const health = (info.State as { Health?: { Status?: string } }).Health?.Status;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    imageId: info.Image,
    labels: { ...(info.Config.Labels ?? {}) },
    state,
    health: health === 'starting' || health === 'healthy' || health === 'unhealthy' ? health : null,
    exitCode: state === 'exited' || state === 'dead' ? info.State.ExitCode : null,
    restartCount: info.RestartCount,
    startedAt: info.State.StartedAt && info.State.StartedAt !== neverStarted ? info.State.StartedAt : null,
  };
}
