// Reads a Docker engine for `gitfleet adopt`: every container (running or
// not) with its image's defaults, and the networks and volumes they use.
// Only reads; the engine is the one the host runs (or --docker-socket).
import Dockerode from 'dockerode';
import { detectContainerEngine } from '../../agent/drivers/docker/engine-kind.ts';
import { podmanInspectAsDocker } from '../../agent/drivers/docker/podman-inspect.ts';
import type { ContainerFacts, EngineFacts, ImageDefaults, InspectedContainer, NetworkFacts, VolumeFacts } from './docker-facts.ts';

/** At most this many containers are read (a host with more is not one `adopt` run should describe). */
export const MAX_CONTAINERS = 1000;

export async function inspectEngine(socketPath: string): Promise<EngineFacts> {
  const docker = new Dockerode({ socketPath });
  const [info, list, engine] = await Promise.all([docker.info() as Promise<{ LoggingDriver?: string }>, docker.listContainers({ all: true }), detectContainerEngine(socketPath)]);
  // Podman's inspect fills in what Docker leaves empty: put it in Docker's words before comparing with the image.
  const asDocker = engine?.name === 'podman' ? (c: InspectedContainer): InspectedContainer => ({ ...c, facts: podmanInspectAsDocker(c.facts, { env: c.image?.Env ?? [], workingDir: c.image?.WorkingDir ?? '' }) }) : (c: InspectedContainer) => c;
  if (list.length > MAX_CONTAINERS) throw new Error(`the engine has ${list.length} containers; adopt reads at most ${MAX_CONTAINERS}`);
  const images = new Map<string, Promise<ImageDefaults | null>>();
  const imageOf = (id: string) => {
    let p = images.get(id);
    if (!p) {
      p = docker
        .getImage(id)
        .inspect()
        .then((i) => (i.Config ?? {}) as ImageDefaults, () => null);
      images.set(id, p);
    }
    return p;
  };
  const containers: InspectedContainer[] = await Promise.all(
    list.map(async (c) => {
      const facts = (await docker.getContainer(c.Id).inspect()) as unknown as ContainerFacts & { Image: string };
      return asDocker({ facts, image: await imageOf(facts.Image) });
    }),
  );
  containers.sort((a, b) => a.facts.Name.localeCompare(b.facts.Name));
  const networks = new Map<string, NetworkFacts>();
  const volumes = new Map<string, VolumeFacts>();
  const networkNames = new Set(containers.flatMap((c) => Object.keys(c.facts.NetworkSettings?.Networks ?? {})));
  const volumeNames = new Set(containers.flatMap((c) => (c.facts.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!)));
  await Promise.all([
    ...[...networkNames].map(async (name) => {
      const n = (await docker.getNetwork(name).inspect().catch(() => null)) as NetworkFacts | null;
      if (n) networks.set(name, n);
    }),
    ...[...volumeNames].map(async (name) => {
      const v = (await docker.getVolume(name).inspect().catch(() => null)) as VolumeFacts | null;
      if (v) volumes.set(name, v);
    }),
  ]);
  // Podman's /info names no logging driver; its containers report json-file, its default.
  return { containers, networks, volumes, defaultLogDriver: info.LoggingDriver || 'json-file' };
}
