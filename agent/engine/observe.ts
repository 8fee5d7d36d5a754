// One fresh observation of everything the planner may look at: the desired
// resources and everything in the inventory (for prune). A driver that cannot
// observe marks its kind unavailable instead of failing the whole pass.
import type { DesiredState } from '../../shared/resources.ts';
import { messageOf } from '../../shared/errors.ts';
import type { Drivers } from '../drivers/types.ts';
import type { Inventory, LiveState } from './model.ts';

export async function observe(drivers: Drivers, desired: DesiredState, inventory: Inventory): Promise<LiveState> {
  const namesOf = (kind: 'unit' | 'file'): string[] => {
    const names = new Set<string>();
    for (const r of desired.resources) if (r.kind === kind) names.add(r.name);
    for (const e of Object.values(inventory.resources)) if (e.kind === kind) names.add(e.name);
    return [...names];
  };
  const live: LiveState = { containers: new Map(), units: new Map(), files: new Map(), unavailable: {} };
  const wantsContainers = desired.resources.some((r) => r.kind === 'container') || Object.values(inventory.resources).some((e) => e.kind === 'container');
  const has = (kind: 'network' | 'volume') => desired.resources.some((r) => r.kind === kind) || Object.values(inventory.resources).some((e) => e.kind === kind);
  const listOf = <L extends { name: string }>(kind: 'network' | 'volume', ops: { list(): Promise<L[]> } | undefined, into: Map<string, L>) => {
    if (!has(kind)) return undefined;
    if (!ops) {
      live.unavailable[kind] = `the container driver cannot manage ${kind}s`;
      return undefined;
    }
    return ops.list().then(
      (all) => all.forEach((x) => into.set(x.name, x)),
      (error: unknown) => void (live.unavailable[kind] = messageOf(error)),
    );
  };
  live.networks = new Map();
  live.volumes = new Map();
  const unitNames = namesOf('unit');
  const filePaths = namesOf('file');
  await Promise.all([
    listOf('network', drivers.containers.networks, live.networks),
    listOf('volume', drivers.containers.volumes, live.volumes),
    wantsContainers
      ? drivers.containers.list().then(
          (all) => all.forEach((c) => live.containers.set(c.name, c)),
          (error: unknown) => void (live.unavailable.container = messageOf(error)),
        )
      : undefined,
    unitNames.length > 0
      ? drivers.units.observe(unitNames).then(
          (all) => all.forEach((u) => live.units.set(u.name, u)),
          (error: unknown) => void (live.unavailable.unit = messageOf(error)),
        )
      : undefined,
    filePaths.length > 0
      ? drivers.files.observe(filePaths).then(
          (all) => all.forEach((f) => live.files.set(f.path, f)),
          (error: unknown) => void (live.unavailable.file = messageOf(error)),
        )
      : undefined,
  ]);
  return live;
}
