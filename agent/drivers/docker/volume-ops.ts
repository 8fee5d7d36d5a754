// Docker volumes for the volume/NAME resource kind (docs/compose.md). The
// agent's labels win over the spec's. Removal is the planner's decision
// (only a volume labelled io.gitfleet.prune=true is ever pruned).
import type Dockerode from 'dockerode';
import type { VolumeSpec } from '../../../shared/resources.ts';
import type { LiveVolume, NetworkVolumeOps } from '../types.ts';
import { statusOf, translateEngineError } from './engine-errors.ts';

export function volumeCreateBody(name: string, spec: VolumeSpec, labels: Record<string, string>): Dockerode.VolumeCreateOptions {
  return { Name: name, Driver: spec.driver ?? 'local', DriverOpts: { ...spec.driver_opts }, Labels: { ...spec.labels, ...labels } };
}

export function dockerVolumeOps(docker: Dockerode, socketPath: string): NetworkVolumeOps<LiveVolume, VolumeSpec> {
  return {
    async list() {
      try {
        const { Volumes } = await docker.listVolumes();
        return (Volumes ?? []).map((v) => ({ name: v.Name, driver: v.Driver, labels: v.Labels ?? {} }));
      } catch (error) {
        throw translateEngineError(error, 'list volumes', socketPath);
      }
    },
    async create(name, spec, labels) {
      try {
        await docker.createVolume(volumeCreateBody(name, spec, labels));
      } catch (error) {
        throw translateEngineError(error, `create volume ${name}`, socketPath);
      }
    },
    async remove(name) {
      try {
        await docker.getVolume(name).remove();
      } catch (error) {
        if (statusOf(error) === 404) return;
        throw translateEngineError(error, `remove volume ${name}`, socketPath);
      }
    },
  };
}
