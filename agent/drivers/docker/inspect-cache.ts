// Inspect results per container id, reused while the container list's Status
// text is consistent with them: same state, same exit code, and a start (or
// finish) time no older than the "Up 5 minutes" / "Exited (0) 2 hours ago" the
// engine reports. A restart, a stop or a re-creation changes one of these, so
// the next list inspects that container again.
import type { ContainerInfo, ContainerInspectInfo } from 'dockerode';
import type { ContainerRunState, ImageDefaults, LiveContainer } from '../types.ts';
import { noImageDefaults, viewOfInspect } from './config-view.ts';
import { parseContainerStatus } from './container-status.ts';
import { withoutImageLabels } from './image-labels.ts';

const neverStarted = '0001-01-01T00:00:00Z';
/** Latency between the engine formatting Status and us reading the clock. */
const slackMs = 1000;

interface Entry {
  live: LiveContainer;
  finishedAt: string | null;
}

export class InspectCache {
  private readonly entries = new Map<string, Entry>();

  /** `imageLabels`: the labels of the container's image, left out of the container's (image-labels.ts); `image`: its defaults (config-view.ts). */
  put(id: string, info: ContainerInspectInfo | null, imageLabels: Record<string, string> = {}, image: ImageDefaults = noImageDefaults): void {
    if (info === null) {
      this.entries.delete(id);
      return;
    }
    const finishedAt = info.State.FinishedAt && info.State.FinishedAt !== neverStarted ? info.State.FinishedAt : null;
    this.entries.set(id, { live: toLiveContainer(info, imageLabels, image), finishedAt });
  }

  /** Forgets containers that are gone. */
  retain(ids: Set<string>): void {
    for (const id of this.entries.keys()) if (!ids.has(id)) this.entries.delete(id);
  }

  isFresh(summary: ContainerInfo, now: number): boolean {
    const entry = this.entries.get(summary.Id);
    if (!entry || entry.live.state !== summary.State) return false;
    const status = parseContainerStatus(summary.Status);
    switch (entry.live.state) {
      case 'created':
        return true;
      case 'running':
      case 'paused':
        // Podman's list text never shows health: a container with a healthcheck is inspected again
        // each time (else its health would stay as first inspected).
        if (entry.live.health !== null && status.health === null) return false;
        return within(entry.live.startedAt, status.elapsedUpperMs, now);
      case 'exited':
        return status.exitCode === entry.live.exitCode && within(entry.finishedAt, status.elapsedUpperMs, now);
      default:
        return false;
    }
  }

  /** The container as of its cached inspect, with what the list knows better (name, health while running). */
  liveFor(summary: ContainerInfo): LiveContainer | null {
    const entry = this.entries.get(summary.Id);
    if (!entry) return null;
    const live = { ...entry.live, labels: { ...entry.live.labels } };
    const name = summary.Names?.[0];
    if (name) live.name = name.replace(/^\//, '');
    if (live.state === 'running' && live.health !== null) live.health = parseContainerStatus(summary.Status).health ?? live.health;
    return live;
  }
}

function within(since: string | null, elapsedUpperMs: number | null, now: number): boolean {
  if (since === null || elapsedUpperMs === null) return false;
  const at = Date.parse(since);
  return !Number.isNaN(at) && now - at <= elapsedUpperMs + slackMs;
}

export function toLiveContainer(info: ContainerInspectInfo, imageLabels: Record<string, string> = {}, image: ImageDefaults = noImageDefaults): LiveContainer {
  const state = info.State.Status as ContainerRunState;
  const health = (info.State as { Health?: { Status?: string } }).Health?.Status;
  const labels = withoutImageLabels(info.Config.Labels ?? {}, imageLabels);
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    imageId: info.Image,
    labels,
    state,
    health: health === 'starting' || health === 'healthy' || health === 'unhealthy' ? health : null,
    exitCode: state === 'exited' || state === 'dead' ? info.State.ExitCode : null,
    restartCount: info.RestartCount,
    startedAt: info.State.StartedAt && info.State.StartedAt !== neverStarted ? info.State.StartedAt : null,
    config: viewOfInspect(info, labels, image),
  };
}
