// An in-memory ContainerDriver that behaves like the Docker engine as far as
// the agent can tell: unique names, create → created, start/stop/remove with the
// same event sequence, images present or pullable per pull policy, the same
// error codes. test/contract/containers.test.ts runs one suite against this and
// the real engine so the two cannot drift apart.
//
// Beyond the interface it offers the "manual actions" tests need (a process
// exiting, a healthcheck flipping, the daemon going away) and a log of the
// mutating calls, so a test can assert that a pass touched nothing.
import { randomBytes } from 'node:crypto';
import { GitfleetError } from '../../../shared/errors.ts';
import type { ContainerSpec, NetworkSpec, VolumeSpec } from '../../../shared/resources.ts';
import { networkList, toCreateBody, type CreateBody } from '../docker/container-config.ts';
import { viewOfCreateBody, noImageDefaults } from '../docker/config-view.ts';
import { normalizeImageRef } from '../image-ref.ts';
import type { ContainerConfigView, ContainerDriver, ContainerEvent, LiveContainer, LiveNetwork, LiveVolume, NetworkVolumeOps } from '../types.ts';

export interface MemoryContainerDriverOptions {
  /** Images present locally: reference → image id (generated when omitted). */
  images?: Record<string, string> | string[];
  /** Images a registry would serve: reference → image id. */
  registry?: Record<string, string>;
  /** Whether a registry answers at all; default: true when `registry` is given. */
  registryReachable?: boolean;
}

interface MemoryContainer extends LiveContainer {
  body: CreateBody;
  /** Networks connected after create (the engine joins one at create). */
  extraNetworks?: string[];
}

type Watcher = { onEvent: (e: ContainerEvent) => void; onError: (e: Error) => void; onConnect: () => void; failed: boolean };

/** The engine's rule for container names. */
const validName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export { normalizeImageRef };

const fakeImageId = () => `sha256:${randomBytes(32).toString('hex')}`;

export class MemoryContainerDriver implements ContainerDriver {
  /** Mutating calls in order, e.g. `create web`, `start web`, `remove web`. */
  readonly calls: string[] = [];
  private readonly containers = new Map<string, MemoryContainer>();
  private readonly images = new Map<string, string>();
  private readonly registry = new Map<string, string>();
  private registryReachable: boolean;
  private available = true;
  private readonly watchers = new Set<Watcher>();

  constructor(options: MemoryContainerDriverOptions = {}) {
    const images = Array.isArray(options.images) ? Object.fromEntries(options.images.map((r) => [r, fakeImageId()])) : options.images ?? {};
    for (const [ref, id] of Object.entries(images)) this.images.set(normalizeImageRef(ref), id);
    for (const [ref, id] of Object.entries(options.registry ?? {})) this.registry.set(normalizeImageRef(ref), id);
    this.registryReachable = options.registryReachable ?? options.registry !== undefined;
  }

  // ------------------------------------------------------------ networks and volumes
  // As the engine: names unique per kind, labels as given (caller's over spec's),
  // a network or volume in use by a container cannot be removed.

  private readonly nets = new Map<string, { driver: string; internal: boolean; labels: Record<string, string> }>();
  private readonly vols = new Map<string, { driver: string; labels: Record<string, string> }>();

  /** As the engine: only a running container is an endpoint of its networks. */
  private usesNetwork(c: MemoryContainer, name: string): boolean {
    if (c.state !== 'running') return false;
    return c.body.HostConfig.NetworkMode === name || Object.keys(c.body.NetworkingConfig?.EndpointsConfig ?? {}).includes(name) || (c.extraNetworks ?? []).includes(name);
  }

  private usesVolume(c: MemoryContainer, name: string): boolean {
    return (c.body.HostConfig.Binds ?? []).some((b) => b.split(':')[0] === name);
  }

  readonly networks: NetworkVolumeOps<LiveNetwork, NetworkSpec> = {
    list: async () => {
      this.assertAvailable('list networks');
      return [...this.nets].map(([name, n]) => ({ name, ...n, labels: { ...n.labels }, containers: [...this.containers.values()].filter((c) => this.usesNetwork(c, name)).map((c) => c.name) }));
    },
    create: async (name, spec, labels) => {
      this.assertAvailable(`create network ${name}`);
      if (this.nets.has(name)) throw new GitfleetError('DOCKER_FAILED', `cannot create network ${name}: network with name ${name} already exists`);
      this.nets.set(name, { driver: spec.driver ?? 'bridge', internal: spec.internal ?? false, labels: { ...spec.labels, ...labels } });
      this.calls.push(`create network ${name}`);
    },
    remove: async (name) => {
      this.assertAvailable(`remove network ${name}`);
      if (!this.nets.has(name)) return;
      if ([...this.containers.values()].some((c) => this.usesNetwork(c, name))) throw new GitfleetError('DOCKER_FAILED', `cannot remove network ${name}: error while removing network: network ${name} has active endpoints`);
      this.nets.delete(name);
      this.calls.push(`remove network ${name}`);
    },
  };

  readonly volumes: NetworkVolumeOps<LiveVolume, VolumeSpec> = {
    list: async () => {
      this.assertAvailable('list volumes');
      return [...this.vols].map(([name, v]) => ({ name, driver: v.driver, labels: { ...v.labels } }));
    },
    create: async (name, spec, labels) => {
      this.assertAvailable(`create volume ${name}`);
      // The engine answers an existing name with the existing volume (no error).
      if (!this.vols.has(name)) this.vols.set(name, { driver: spec.driver ?? 'local', labels: { ...spec.labels, ...labels } });
      this.calls.push(`create volume ${name}`);
    },
    remove: async (name) => {
      this.assertAvailable(`remove volume ${name}`);
      if (!this.vols.has(name)) return;
      if ([...this.containers.values()].some((c) => this.usesVolume(c, name))) throw new GitfleetError('DOCKER_FAILED', `cannot remove volume ${name}: volume is in use`);
      this.vols.delete(name);
      this.calls.push(`remove volume ${name}`);
    },
  };

  // ------------------------------------------------------------ ContainerDriver

  async ping(): Promise<void> {
    this.assertAvailable('ping the Docker daemon');
  }

  async list(): Promise<LiveContainer[]> {
    this.assertAvailable('list containers');
    return [...this.containers.values()].map(toLive);
  }

  async ensureImage(image: string, policy: 'always' | 'missing' | 'never'): Promise<string> {
    this.assertAvailable(`inspect image ${image}`);
    const ref = normalizeImageRef(image);
    const local = this.images.get(ref);
    if (policy !== 'always' && local !== undefined) return local;
    if (policy === 'never') throw new GitfleetError('IMAGE_NOT_FOUND', `image ${image} is not present locally and pull: never forbids pulling it`);
    this.calls.push(`pull ${image}`);
    if (!this.registryReachable) {
      const reason = 'dial tcp: no registry reachable (memory driver)';
      if (policy === 'always' && local !== undefined) return local;
      throw new GitfleetError('IMAGE_NOT_FOUND', policy === 'always'
        ? `image ${image} could not be pulled (no registry reachable: ${reason}) and is not present locally`
        : `image ${image} is not present locally and could not be pulled: ${reason}`);
    }
    const remote = this.registry.get(ref);
    if (remote === undefined) {
      const reason = `manifest for ${image} not found: manifest unknown`;
      throw new GitfleetError('IMAGE_NOT_FOUND', policy === 'always'
        ? `image ${image} could not be pulled (the registry answered: ${reason}); pull: always does not fall back to a local copy unless the registry is unreachable`
        : `image ${image} is not present locally and could not be pulled: ${reason}`);
    }
    this.images.set(ref, remote);
    return remote;
  }

  async create(name: string, spec: ContainerSpec, labels: Record<string, string>): Promise<string> {
    const body = toCreateBody(spec, labels);
    this.assertAvailable(`create container ${name}`);
    if (!validName.test(name)) {
      throw new GitfleetError('DOCKER_FAILED', `cannot create container ${name}: Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    const taken = [...this.containers.values()].find((c) => c.name === name);
    if (taken) {
      throw new GitfleetError('NAME_CONFLICT', `cannot create container ${name}: Conflict. The container name "/${name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    const imageId = this.images.get(normalizeImageRef(spec.image));
    if (imageId === undefined) throw new GitfleetError('IMAGE_NOT_FOUND', `cannot create container ${name}: No such image: ${spec.image}`);
    const id = randomBytes(32).toString('hex');
    this.containers.set(id, {
      id, name, image: spec.image, imageId, labels: { ...(body.Labels ?? {}) }, state: 'created',
      health: null, exitCode: null, restartCount: 0, startedAt: null, body,
    });
    this.calls.push(`create ${name}`);
    (this.containers.get(id) as MemoryContainer).extraNetworks = spec.networks === undefined ? [] : networkList(spec.networks).slice(1).map((n) => n.name);
    this.emit('create', this.containers.get(id) as MemoryContainer);
    return id;
  }

  async start(nameOrId: string): Promise<void> {
    this.assertAvailable(`start container ${nameOrId}`);
    const c = this.find(nameOrId, 'start');
    this.calls.push(`start ${c.name}`);
    if (c.state === 'running') return;
    // The engine (API 1.41) accepts a missing network at create and refuses at start.
    const first = Object.keys(c.body.NetworkingConfig?.EndpointsConfig ?? {})[0];
    if (first !== undefined && !this.nets.has(first)) throw new GitfleetError('DOCKER_FAILED', `cannot start container ${nameOrId}: network ${first} not found`);
    this.run(c);
  }

  async stop(nameOrId: string, _timeoutSeconds?: number): Promise<void> {
    this.assertAvailable(`stop container ${nameOrId}`);
    const c = this.find(nameOrId, 'stop');
    this.calls.push(`stop ${c.name}`);
    if (c.state !== 'running') return;
    // SIGTERM reaches the process (an init forwards it); without one, the
    // engine escalates to SIGKILL after the timeout.
    this.emit('kill', c);
    this.terminate(c, c.body.HostConfig.Init ? 143 : 137);
    this.emit('stop', c);
  }

  async remove(nameOrId: string): Promise<void> {
    this.assertAvailable(`remove container ${nameOrId}`);
    const c = this.lookup(nameOrId);
    if (!c) return;
    this.calls.push(`remove ${c.name}`);
    if (c.state === 'running') {
      this.emit('kill', c);
      this.terminate(c, 137);
    }
    this.containers.delete(c.id);
    this.emit('destroy', c);
  }

  watch(onEvent: (event: ContainerEvent) => void, onError?: (error: Error) => void, onConnect?: () => void): () => void {
    const watcher: Watcher = { onEvent, onError: onError ?? (() => {}), onConnect: onConnect ?? (() => {}), failed: !this.available };
    this.watchers.add(watcher);
    setImmediate(() => {
      if (!this.watchers.has(watcher)) return;
      if (watcher.failed) watcher.onError(this.unavailable('subscribe to Docker events'));
      else watcher.onConnect();
    });
    return () => this.watchers.delete(watcher);
  }

  // ------------------------------------------------------------ manual actions for tests

  /** The main process exits by itself; the restart policy applies as in the engine. */
  exit(nameOrId: string, exitCode: number): void {
    const c = this.find(nameOrId, 'exit');
    if (c.state !== 'running') return;
    this.terminate(c, exitCode);
    const policy = c.body.HostConfig.RestartPolicy?.Name;
    if (policy === 'always' || policy === 'unless-stopped' || (policy === 'on-failure' && exitCode !== 0)) {
      c.restartCount += 1;
      this.run(c);
    }
  }

  /** The kernel's OOM killer hits the container. */
  oom(nameOrId: string): void {
    const c = this.find(nameOrId, 'oom');
    this.emit('oom', c);
    this.exit(nameOrId, 137);
  }

  setHealth(nameOrId: string, health: 'starting' | 'healthy' | 'unhealthy'): void {
    const c = this.find(nameOrId, 'set health of');
    c.health = health;
    this.emit('health_status', c, { health });
  }

  /** The daemon goes away (every call → DOCKER_UNAVAILABLE) or comes back. */
  setAvailable(available: boolean): void {
    if (this.available === available) return;
    this.available = available;
    for (const w of this.watchers) {
      if (!available) {
        w.failed = true;
        setImmediate(() => w.onError(this.unavailable('follow Docker events')));
      } else if (w.failed) {
        w.failed = false;
        setImmediate(() => w.onConnect());
      }
    }
  }

  addImage(ref: string, id: string = fakeImageId()): string {
    this.images.set(normalizeImageRef(ref), id);
    return id;
  }

  removeImage(ref: string): void {
    this.images.delete(normalizeImageRef(ref));
  }

  setRegistryImage(ref: string, id: string = fakeImageId()): string {
    this.registry.set(normalizeImageRef(ref), id);
    return id;
  }

  setRegistryReachable(reachable: boolean): void {
    this.registryReachable = reachable;
  }

  /** The Engine API body the container was created with (to assert on applied keys). */
  createBody(nameOrId: string): CreateBody {
    return structuredClone(this.find(nameOrId, 'inspect').body);
  }

  // ------------------------------------------------------------ internals

  private run(c: MemoryContainer): void {
    c.state = 'running';
    c.exitCode = null;
    c.startedAt = new Date().toISOString();
    const test = c.body.Healthcheck?.Test;
    c.health = test && test[0] !== 'NONE' ? 'starting' : null;
    this.emit('start', c);
  }

  private terminate(c: MemoryContainer, exitCode: number): void {
    c.state = 'exited';
    c.exitCode = exitCode;
    // the engine marks a stopped container's health unhealthy
    if (c.health !== null) c.health = 'unhealthy';
    this.emit('die', c, { exitCode });
  }

  private lookup(nameOrId: string): MemoryContainer | undefined {
    const bare = nameOrId.replace(/^\//, '');
    const byName = [...this.containers.values()].find((c) => c.name === bare);
    if (byName) return byName;
    const byId = [...this.containers.values()].filter((c) => bare.length > 0 && c.id.startsWith(bare));
    return byId.length === 1 ? byId[0] : undefined;
  }

  private find(nameOrId: string, verb: string): MemoryContainer {
    const c = this.lookup(nameOrId);
    if (!c) throw new GitfleetError('DOCKER_FAILED', `cannot ${verb} container ${nameOrId}: No such container: ${nameOrId}`);
    return c;
  }

  private emit(action: ContainerEvent['action'], c: MemoryContainer, extra: Partial<ContainerEvent> = {}): void {
    const event: ContainerEvent = { action, id: c.id, name: c.name, labels: { ...c.labels }, time: Date.now(), ...extra };
    for (const w of this.watchers) setImmediate(() => { if (this.watchers.has(w)) w.onEvent(event); });
  }

  private assertAvailable(what: string): void {
    if (!this.available) throw this.unavailable(what);
  }

  private unavailable(what: string): GitfleetError {
    return new GitfleetError('DOCKER_UNAVAILABLE', `cannot ${what}: the Docker daemon (memory driver) is not reachable`);
  }
}

function toLive(c: MemoryContainer): LiveContainer {
  return {
    id: c.id, name: c.name, image: c.image, imageId: c.imageId, labels: { ...c.labels }, state: c.state,
    health: c.health, exitCode: c.exitCode, restartCount: c.restartCount, startedAt: c.startedAt,
    config: memoryConfigView(c),
  };
}

/** The engine fills in what a body leaves to it (hostname, log driver); images here have no defaults of their own. */
function memoryConfigView(c: MemoryContainer): ContainerConfigView {
  const view = viewOfCreateBody(c.body, c.extraNetworks ?? [], noImageDefaults);
  const joined = [...Object.keys(c.body.NetworkingConfig?.EndpointsConfig ?? {}), ...(c.extraNetworks ?? [])];
  return { ...view, hostname: c.body.Hostname ?? c.id.slice(0, 12), logging: view.logging ?? 'json-file', networks: joined.sort() };
}
