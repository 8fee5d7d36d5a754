// Networks and volumes (network/NAME, volume/NAME; docs/compose.md). Both are
// created before containers and labelled as the agent's own with a config
// hash, so drift is a string comparison, as for containers.
// - A network whose config changed is recreated when no container is attached
//   (the containers that use it are recreated in the same revision anyway);
//   with containers attached it is reported until they are gone.
// - A volume is never recreated (that would lose its data): a changed config
//   is reported. It is pruned only when it was created with `prune: true`
//   (remembered in a label, since an undeclared resource has no spec).
// - One that exists and was not created by the agent is adopted as is: used,
//   never changed or removed (moving a Compose project under gitfleet, docs/compose.md).
import type { NetworkResource, ResourceId, VolumeResource } from '../../shared/resources.ts';
import { containerLabels, MANAGED_BY, type LiveNetwork, type LiveVolume } from '../drivers/types.ts';
import { canonicalJson, sha256 } from './hash.ts';
import type { Inventory, InventoryEntry, LiveState, PlanContext } from './model.ts';
import { applyDriftPolicy, causeOf, status, type ResourcePlan } from './resource-plan.ts';
import type { Step } from './steps.ts';

export function networkVolumeHash(spec: object): string {
  const rest = Object.fromEntries(Object.entries(spec).filter(([k]) => !['drift', 'depends_on', 'prune'].includes(k)));
  return sha256(canonicalJson(rest)).slice(0, 32);
}

function labelsFor(resource: NetworkResource | VolumeResource, revision: string): Record<string, string> {
  const labels: Record<string, string> = {
    [containerLabels.managedBy]: MANAGED_BY,
    [containerLabels.resource]: resource.id,
    [containerLabels.configHash]: networkVolumeHash(resource.spec),
    [containerLabels.revision]: revision,
  };
  if (resource.kind === 'volume' && resource.spec.prune === true) labels[containerLabels.prune] = 'true';
  return labels;
}

const owned = (labels: Record<string, string>, id: string) => labels[containerLabels.managedBy] === MANAGED_BY && labels[containerLabels.resource] === id;

export function planNetworkOrVolume(resource: NetworkResource | VolumeResource, live: LiveState, inventory: Inventory, ctx: PlanContext): ResourcePlan {
  const kind = resource.kind;
  const unavailable = live.unavailable[kind];
  if (unavailable !== undefined) return { resource, steps: [], status: status(resource, 'Pending', 'Unknown', [], `cannot observe ${kind}s: ${unavailable}`) };
  const current: LiveNetwork | LiveVolume | undefined = kind === 'network' ? live.networks?.get(resource.name) : live.volumes?.get(resource.name);
  const cause = causeOf(resource, inventory);
  const base = { resource: resource.id, cause };
  const create: Step =
    resource.kind === 'network'
      ? { type: 'network.create', args: { name: resource.name, spec: resource.spec, labels: labelsFor(resource, ctx.revision) }, ...base, reason: 'create' }
      : { type: 'volume.create', args: { name: resource.name, spec: resource.spec, labels: labelsFor(resource, ctx.revision) }, ...base, reason: 'create' };
  if (!current) {
    const plan = { resource, steps: [create], status: status(resource, 'Missing', 'Degraded', [{ field: kind, desired: 'present', live: 'absent' }]) };
    return applyDriftPolicy(plan, cause, resource.drift, ctx.correctReportedDrift);
  }
  if (!owned(current.labels, resource.id)) {
    return { resource, steps: [], status: { ...status(resource, 'InSync', 'Healthy', [], `adopted: this ${kind} was not created by gitfleet; it is used as it is, never changed or removed`), adoption: 'Adopted' } };
  }
  const wanted = networkVolumeHash(resource.spec);
  const liveHash = current.labels[containerLabels.configHash] ?? null;
  if (liveHash === wanted) return { resource, steps: [], status: status(resource, 'InSync', 'Healthy') };
  const diff = [{ field: 'config-hash', desired: wanted, live: liveHash }];
  if (kind === 'volume') {
    return { resource, steps: [], status: status(resource, 'Drifted', 'Healthy', diff, 'the volume config changed; a volume is never recreated (its data would be lost): remove it by hand to have it created again') };
  }
  const attached = (current as LiveNetwork).containers;
  if (attached.length > 0) {
    return { resource, steps: [], status: status(resource, 'Drifted', 'Healthy', diff, `the network config changed; it is recreated once no container is attached (attached: ${attached.join(', ')})`) };
  }
  const steps: Step[] = [{ type: 'network.remove', args: { name: resource.name }, ...base, reason: 'network config changed' }, create];
  return applyDriftPolicy({ resource, steps, status: status(resource, 'Drifted', 'Healthy', diff) }, cause, resource.drift, ctx.correctReportedDrift);
}

/**
 * Prune of an undeclared network or volume the agent created. Deferred while
 * the pass removes containers (they may still use it: the next pass prunes);
 * a volume only when it carries the prune label.
 */
export function pruneNetworkOrVolume(id: ResourceId, entry: InventoryEntry, live: LiveState, removingContainers: boolean): Step[] | 'defer' {
  const base = { resource: id, cause: 'prune' as const, reason: 'no longer declared' };
  if (entry.kind === 'network') {
    const current = live.networks?.get(entry.name);
    if (!current || !owned(current.labels, id)) return [];
    if (removingContainers || current.containers.length > 0) return 'defer';
    return [{ type: 'network.remove', args: { name: entry.name }, ...base }];
  }
  const current = live.volumes?.get(entry.name);
  if (!current || !owned(current.labels, id) || current.labels[containerLabels.prune] !== 'true') return [];
  if (removingContainers) return 'defer';
  return [{ type: 'volume.remove', args: { name: entry.name }, ...base }];
}
