// Which engine answers on the "Docker" socket: Docker itself or Podman's
// Docker-compatible API. Both answer GET /version; Podman lists a component
// named "Podman Engine" (Docker's is "Engine"), which is what tells them apart.
import Dockerode from 'dockerode';

export interface ContainerEngine {
  /** `docker` or `podman`. */
  name: 'docker' | 'podman';
  version: string;
}

interface RawVersion {
  Version?: unknown;
  Platform?: { Name?: unknown } | null;
  Components?: Array<{ Name?: unknown; Version?: unknown }> | null;
}

/** The engine a /version answer describes; null when it is not one. */
export function engineOfVersion(raw: unknown): ContainerEngine | null {
  if (raw === null || typeof raw !== 'object') return null;
  const v = raw as RawVersion;
  const components = Array.isArray(v.Components) ? v.Components : [];
  const podman = components.find((c) => typeof c?.Name === 'string' && /podman/i.test(c.Name));
  const platform = typeof v.Platform?.Name === 'string' ? v.Platform.Name : '';
  const version = (typeof podman?.Version === 'string' ? podman.Version : typeof v.Version === 'string' ? v.Version : '').slice(0, 64);
  if (podman || /podman/i.test(platform)) return { name: 'podman', version };
  if (version === '') return null;
  return { name: 'docker', version };
}

/** Asks the engine on `socketPath`; null when nothing (or nothing known) answers within `timeoutMs`. */
export async function detectContainerEngine(socketPath: string, timeoutMs = 5000): Promise<ContainerEngine | null> {
  const docker = new Dockerode({ socketPath, timeout: timeoutMs });
  try {
    return engineOfVersion(await docker.version());
  } catch {
    return null;
  }
}
