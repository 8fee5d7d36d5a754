// What the agent leaves on the host that says "this is mine": the labels on
// every container it creates (drivers/types.ts containerLabels) and the first
// line of every unit file it writes (engine/plan-units.ts unitMarker). When the
// inventory and its copy are both lost, these rebuild the ownership of
// containers and units. Files carry no mark: only the copy knows them.
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../../shared/errors.ts';
import type { ResourceId } from '../../shared/resources.ts';
import { containerLabels, MANAGED_BY, type LiveContainer } from '../drivers/types.ts';
import type { InventoryEntry } from '../engine/model.ts';

export interface HostMarks {
  /** Every container on the host, managed or not. */
  containers?: () => Promise<LiveContainer[]>;
  /** Every regular file in the agent's unit directory: its name and first line. */
  unitFiles?: () => Promise<Array<{ name: string; firstLine: string }>>;
}

/** `# Managed by gitfleet (unit/x.service): …` — the id in the marker must name the file it is in. */
const unitMarkerLine = /^# Managed by gitfleet \((unit\/[^()\s]+)\): /;

export function unitIdFromFirstLine(name: string, firstLine: string): ResourceId | null {
  const match = unitMarkerLine.exec(firstLine);
  return match && match[1] === `unit/${name}` ? (match[1] as ResourceId) : null;
}

/** Reads the first line of each regular file in `dir` (symlinks, e.g. masks, are not the agent's). */
export function unitFilesIn(dir: string): () => Promise<Array<{ name: string; firstLine: string }>> {
  return async () => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const out: Array<{ name: string; firstLine: string }> = [];
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      const path = join(dir, name);
      if (!(await lstat(path)).isFile()) continue;
      const handle = await open(path, 'r');
      try {
        // The marker is short; a bounded read keeps a huge foreign file cheap.
        const buffer = Buffer.alloc(512);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
        out.push({ name, firstLine: buffer.subarray(0, bytesRead).toString('utf8').split('\n', 1)[0] ?? '' });
      } finally {
        await handle.close();
      }
    }
    return out;
  };
}

export interface HostInventory {
  resources: Record<ResourceId, InventoryEntry>;
  /** Marks that could not be read (Docker down…): what stays unknown. */
  problems: string[];
}

/**
 * The ownership the host shows. Entries get an empty hash (the spec they were
 * applied from is unknown): a resource that matches Git is adopted as is, one
 * that differs is re-applied as an intended change.
 */
export async function inventoryFromHost(marks: HostMarks, now: string): Promise<HostInventory> {
  const resources: Record<ResourceId, InventoryEntry> = {};
  const problems: string[] = [];
  if (marks.containers) {
    try {
      for (const c of await marks.containers()) {
        const id: ResourceId = `container/${c.name}`;
        if (c.labels[containerLabels.managedBy] !== MANAGED_BY || c.labels[containerLabels.resource] !== id) continue;
        resources[id] = { kind: 'container', name: c.name, hash: '', revision: c.labels[containerLabels.revision] ?? 'unknown', appliedAt: now };
      }
    } catch (error) {
      problems.push(`containers: ${messageOf(error)}`);
    }
  }
  if (marks.unitFiles) {
    try {
      for (const file of await marks.unitFiles()) {
        const id = unitIdFromFirstLine(file.name, file.firstLine);
        if (id) resources[id] = { kind: 'unit', name: file.name, hash: '', revision: 'unknown', appliedAt: now };
      }
    } catch (error) {
      problems.push(`units: ${messageOf(error)}`);
    }
  }
  return { resources, problems };
}
