// Docker networks for the network/NAME resource kind (docs/compose.md):
// list with their attached containers, create with the spec's keys and the
// agent's ownership labels (the caller's labels win over the spec's, so a
// spec cannot forge ownership), remove tolerating "already gone".
import type Dockerode from 'dockerode';
import type { NetworkSpec } from '../../../shared/resources.ts';
import type { LiveNetwork, NetworkVolumeOps } from '../types.ts';
import { statusOf, translateEngineError } from './engine-errors.ts';

/** The create body for a network spec (pure; unit-tested). */
export function networkCreateBody(name: string, spec: NetworkSpec, labels: Record<string, string>): Dockerode.NetworkCreateOptions {
  return {
    Name: name,
    Driver: spec.driver ?? 'bridge',
    Internal: spec.internal ?? false,
    Attachable: spec.attachable ?? false,
    EnableIPv6: spec.enable_ipv6 ?? false,
    Options: { ...spec.driver_opts },
    Labels: { ...spec.labels, ...labels },
    CheckDuplicate: true,
  };
}

export function dockerNetworkOps(docker: Dockerode, socketPath: string): NetworkVolumeOps<LiveNetwork, NetworkSpec> {
  return {
    async list() {
      try {
        const nets = await docker.listNetworks();
        // The list does not carry attached containers; inspect only the agent's own (few) networks.
        return await Promise.all(
          nets.map(async (n) => {
            let containers: string[] = [];
            if (n.Labels?.['io.gitfleet.managed-by'] === 'gitfleet') {
              const info = (await docker.getNetwork(n.Id).inspect()) as { Containers?: Record<string, { Name: string }> };
              containers = Object.values(info.Containers ?? {}).map((c) => c.Name);
            }
            return { name: n.Name, driver: n.Driver, internal: n.Internal, labels: n.Labels ?? {}, containers };
          }),
        );
      } catch (error) {
        throw translateEngineError(error, 'list networks', socketPath);
      }
    },
    async create(name, spec, labels) {
      try {
        await docker.createNetwork(networkCreateBody(name, spec, labels));
      } catch (error) {
        throw translateEngineError(error, `create network ${name}`, socketPath);
      }
    },
    async remove(name) {
      try {
        await docker.getNetwork(name).remove();
      } catch (error) {
        if (statusOf(error) === 404) return;
        throw translateEngineError(error, `remove network ${name}`, socketPath);
      }
    },
  };
}
