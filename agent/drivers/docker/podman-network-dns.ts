// Docker resolves aliases on every user-defined network; Podman only on a
// network created with DNS, which with CNI (Podman 4 on Debian) needs the
// `dnsname` plugin installed when the network is made. Without it a container
// would start and its aliases would silently never resolve, so the driver
// refuses to create a container with aliases on such a network and says why.
// An internal network never has DNS with CNI (Podman leaves dnsname out of it).
// Docker's API does not show a network's DNS; Podman's own (libpod) API does.
import type Dockerode from 'dockerode';
import type { ContainerSpec } from '../../../shared/resources.ts';
import { GitfleetError } from '../../../shared/errors.ts';
import { networkList } from './container-config.ts';
import { translateEngineError } from './engine-errors.ts';

interface LibpodNetwork {
  dns_enabled?: unknown;
  internal?: unknown;
}

type Dial = (options: { path: string; method: string; statusCodes: Record<number, boolean | string> }, callback: (error: unknown, data: unknown) => void) => void;

/** Podman's own view of a network; null when it does not exist (the create then fails with the engine's message). */
function libpodNetwork(docker: Dockerode, name: string): Promise<LibpodNetwork | null> {
  const modem = docker.modem as { dial: Dial };
  return new Promise((resolve, reject) => {
    modem.dial(
      // libpod paths need a version prefix (an unversioned one is a 404); Podman serves any 4.x and later under it.
      { path: `/v4.0.0/libpod/networks/${encodeURIComponent(name)}/json`, method: 'GET', statusCodes: { 200: true, 404: true, 500: 'server error' } },
      (error, data) => {
        if (error) return reject(error);
        // A 404's body is an error ({cause, message, response}); a network has a name.
        resolve(data !== null && typeof data === 'object' && 'name' in data ? (data as LibpodNetwork) : null);
      },
    );
  });
}

/** The message for aliases that would not resolve (pure; unit-tested). */
export function aliasesWithoutDnsMessage(container: string, network: string, aliases: string[], internal: boolean): string {
  const head = `cannot create container ${container}: network ${network} on Podman has no name resolution (dns_enabled: false), so its aliases ${aliases.join(', ')} would never resolve; `;
  if (internal) return `${head}Podman with CNI gives an internal network no DNS: declare the network without internal: true, or the container without aliases`;
  return `${head}install the CNI dnsname plugin (Debian: golang-github-containernetworking-plugin-dnsname), then remove the network so it is created again with DNS`;
}

/** Throws DOCKER_FAILED when the spec declares aliases on a Podman network without DNS. */
export async function assertAliasesResolve(docker: Dockerode, container: string, spec: ContainerSpec, socketPath: string): Promise<void> {
  if (spec.networks === undefined) return;
  for (const { name, aliases } of networkList(spec.networks)) {
    if (aliases.length === 0) continue;
    let network: LibpodNetwork | null;
    try {
      network = await libpodNetwork(docker, name);
    } catch (error) {
      throw translateEngineError(error, `inspect network ${name}`, socketPath);
    }
    if (network !== null && network.dns_enabled === false) throw new GitfleetError('DOCKER_FAILED', aliasesWithoutDnsMessage(container, name, aliases, network.internal === true));
  }
}
