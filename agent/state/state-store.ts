// The agent's persisted state in its state directory: the inventory (what it
// owns), its revisions (last good, last rejected) and its last status. Each is
// one JSON file written atomically, so a kill at any moment loses nothing.
import { join } from 'node:path';
import { GitfleetError } from '../../shared/errors.ts';
import { HostStatus } from '../../shared/status.ts';
import { emptyInventory, type Inventory } from '../engine/model.ts';
import { readJson, writeFileAtomic } from './atomic-file.ts';

export interface Revisions {
  /** The last revision applied and found healthy: what the host falls back to. */
  lastApplied: string | null;
  /** The last revision tried (applied, refused or rolled back). */
  lastAttempted: string | null;
  /** A head that was refused or rolled back: not retried until the head moves. */
  rejected: { revision: string; reason: string } | null;
}

export class StateStore {
  constructor(readonly dir: string) {}

  private path(name: string): string {
    return join(this.dir, name);
  }

  private async read<T>(name: string): Promise<T | null> {
    try {
      return await readJson<T>(this.path(name));
    } catch (error) {
      throw new GitfleetError('INTERNAL', `state file ${this.path(name)} is unreadable: ${(error as Error).message}`, { cause: error });
    }
  }

  async loadInventory(): Promise<Inventory> {
    const inventory = await this.read<Inventory>('inventory.json');
    return inventory && inventory.version === 1 ? inventory : emptyInventory();
  }

  saveInventory(inventory: Inventory): Promise<void> {
    return writeFileAtomic(this.path('inventory.json'), JSON.stringify(inventory, null, 1));
  }

  async loadRevisions(): Promise<Revisions> {
    return (await this.read<Revisions>('revisions.json')) ?? { lastApplied: null, lastAttempted: null, rejected: null };
  }

  saveRevisions(revisions: Revisions): Promise<void> {
    return writeFileAtomic(this.path('revisions.json'), JSON.stringify(revisions, null, 1));
  }

  async loadStatus(): Promise<HostStatus | null> {
    const raw = await this.read<unknown>('status.json');
    const parsed = HostStatus.safeParse(raw);
    return parsed.success ? parsed.data : null;
  }

  saveStatus(status: HostStatus): Promise<void> {
    return writeFileAtomic(this.path('status.json'), JSON.stringify(status, null, 1), 0o644);
  }
}
