// The pure planner: plan(desired, live, inventory) → the steps that can run now.
// No I/O, no clock, inputs never mutated. The reconciler applies the steps,
// observes again and plans again until nothing is left.
import { parseResourceId, type DesiredState, type ResourceId } from '../../shared/resources.ts';
import type { ResourceStatus } from '../../shared/status.ts';
import type { AdoptedMark, Inventory, LiveState, PlanContext } from './model.ts';
import { isOwnedContainer, planContainer } from './plan-containers.ts';
import { planFile } from './plan-files.ts';
import { planNetworkOrVolume, pruneNetworkOrVolume } from './plan-networks.ts';
import { activatedUnits, planUnit, pruneUnit } from './plan-units.ts';
import { causeOf, type ResourcePlan } from './resource-plan.ts';
import { stepPhase, type Step } from './steps.ts';

export interface Plan {
  /** Steps to run now, in execution order. */
  steps: Step[];
  /** Every desired resource's status as observed (before these steps). */
  statuses: ResourceStatus[];
  /** Resources held back until their dependencies are in sync and healthy. */
  waiting: ResourceId[];
  /** Inventory entries that are neither desired nor present any more: drop them. */
  forgotten: ResourceId[];
  /**
   * Resources taken over as they were found (docs/adopt.md), with what the
   * inventory records for them once in sync; `pending` when the inventory
   * does not record them as adopted yet.
   */
  adoptions: Map<ResourceId, { mark: AdoptedMark; pending: boolean }>;
}

function planResource(resource: DesiredState['resources'][number], live: LiveState, inventory: Inventory, ctx: PlanContext, activated: ReadonlySet<string>, jobs: ReadonlySet<ResourceId>): ResourcePlan {
  switch (resource.kind) {
    case 'container':
      return planContainer(resource, live, inventory, ctx, jobs.has(resource.id));
    case 'unit':
      return planUnit(resource, live, inventory, ctx, activated);
    case 'file':
      return planFile(resource, live, inventory, ctx);
    case 'network':
    case 'volume':
      return planNetworkOrVolume(resource, live, inventory, ctx);
  }
}

/**
 * Holds back resources whose dependencies are not yet in sync and healthy;
 * a dependency to complete (service_completed_successfully) must have exited
 * with code 0, and one that exited otherwise fails its dependant.
 */
function gateDependencies(plans: Map<ResourceId, ResourcePlan>, live: LiveState): ResourceId[] {
  const waiting: ResourceId[] = [];
  const ready = (id: ResourceId): boolean => {
    const dep = plans.get(id);
    return dep === undefined || (dep.steps.length === 0 && dep.status.health === 'Healthy');
  };
  const exitOf = (id: ResourceId): number | null | undefined => {
    const c = live.containers.get(parseResourceId(id).name);
    return c && (c.state === 'exited' || c.state === 'dead') && plans.get(id)?.steps.length === 0 ? c.exitCode : undefined;
  };
  for (const [id, plan] of plans) {
    const completes = new Set(plan.resource.dependsOnCompleted ?? []);
    const failedJob = plan.steps.length > 0 ? [...completes].find((dep) => { const code = exitOf(dep); return code !== undefined && code !== 0; }) : undefined;
    if (failedJob !== undefined) {
      const message = `${failedJob} exited with code ${exitOf(failedJob) ?? 'unknown'}; ${id} waits for it to complete successfully (depends_on condition: service_completed_successfully)`;
      plans.set(id, { ...plan, steps: [], status: { ...plan.status, sync: 'Failed', health: 'Degraded', message } });
      continue;
    }
    const blockers = plan.resource.dependsOn.filter((dep) => (completes.has(dep) ? exitOf(dep) !== 0 : !ready(dep)));
    if (blockers.length === 0 || plan.steps.length === 0) continue;
    waiting.push(id);
    plans.set(id, { ...plan, steps: [], status: { ...plan.status, sync: 'Pending', message: `waiting for ${blockers.join(', ')}` } });
  }
  return waiting;
}

/** A changed file restarts the units and containers it names, once per pass, unless they are being rewritten anyway. */
function notifySteps(plans: Map<ResourceId, ResourcePlan>, live: LiveState): Step[] {
  const restarts = new Map<ResourceId, Step>();
  for (const plan of plans.values()) {
    if (plan.resource.kind !== 'file') continue;
    const write = plan.steps.find((s) => s.type === 'file.write');
    if (!write) continue;
    for (const target of (plan.resource.spec.notify ?? []) as ResourceId[]) {
      const targetPlan = plans.get(target);
      if (restarts.has(target) || (targetPlan && targetPlan.steps.length > 0)) continue;
      const { kind, name } = parseResourceId(target);
      const reason = `notified by ${plan.resource.id}`;
      if (kind === 'unit' && live.units.get(name)?.activeState === 'active') {
        restarts.set(target, { type: 'unit.restart', args: { name }, resource: target, cause: write.cause, reason });
      } else if (kind === 'container' && live.containers.get(name)?.state === 'running') {
        restarts.set(target, { type: 'container.restart', args: { name, timeoutSeconds: 10 }, resource: target, cause: write.cause, reason });
      }
    }
  }
  return [...restarts.values()];
}

function pruneSteps(desired: DesiredState, live: LiveState, inventory: Inventory, removingContainers: boolean): { steps: Step[]; forgotten: ResourceId[] } {
  const wanted = new Set(desired.resources.map((r) => r.id));
  const steps: Step[] = [];
  const forgotten: ResourceId[] = [];
  for (const [key, entry] of Object.entries(inventory.resources)) {
    const id = key as ResourceId;
    if (wanted.has(id) || live.unavailable[entry.kind] !== undefined) continue;
    const base = { resource: id, cause: 'prune' as const, reason: 'no longer declared' };
    let prune: Step[] = [];
    if (entry.kind === 'network' || entry.kind === 'volume') {
      const decided = pruneNetworkOrVolume(id, entry, live, removingContainers);
      if (decided === 'defer') continue;
      prune = decided;
    } else if (entry.kind === 'container') {
      const current = live.containers.get(entry.name);
      // An adopted container is the agent's too, by the id it was adopted with.
      if (current && (isOwnedContainer(current, id) || entry.adopted?.containerId === current.id)) prune = [{ type: 'container.remove', args: { name: entry.name }, ...base }];
    } else if (entry.kind === 'unit') {
      prune = pruneUnit(id as `unit/${string}`, entry.name, live.units.get(entry.name), entry.adopted !== undefined);
    } else if (live.files.get(entry.name)?.exists) {
      prune = [{ type: 'file.remove', args: { path: entry.name }, ...base }];
    }
    if (prune.length === 0) forgotten.push(id);
    steps.push(...prune);
  }
  return { steps, forgotten };
}

/**
 * The two kinds of difference are named apart (docs/api.md, "States"): a spec that Git
 * changed since the agent applied it (or never applied) is OutOfSync; a resource changed
 * on the host under an applied spec is Drifted.
 */
function fromGitOrHost(p: ResourcePlan, inventory: Inventory): ResourcePlan {
  if (p.status.sync !== 'Drifted' || causeOf(p.resource, inventory) !== 'intended') return p;
  return { ...p, status: { ...p.status, sync: 'OutOfSync' } };
}

export function plan(desired: DesiredState, live: LiveState, inventory: Inventory, ctx: PlanContext): Plan {
  const plans = new Map<ResourceId, ResourcePlan>();
  const activated = activatedUnits(desired.resources);
  const jobs = new Set(desired.resources.flatMap((r) => r.dependsOnCompleted ?? []));
  for (const resource of desired.resources) plans.set(resource.id, fromGitOrHost(planResource(resource, live, inventory, ctx, activated, jobs), inventory));
  const waiting = gateDependencies(plans, live);
  const planned = [...plans.values()].flatMap((p) => p.steps);
  const pruned = pruneSteps(desired, live, inventory, removesContainers(planned, desired, live, inventory));

  const steps = [...[...plans.values()].flatMap((p) => p.steps), ...notifySteps(plans, live), ...pruned.steps];
  // One daemon-reload per pass, however many unit files changed.
  const firstReload = steps.findIndex((s) => s.type === 'unit.daemon-reload');
  const deduped = steps.filter((s, i) => s.type !== 'unit.daemon-reload' || i === firstReload);
  const ordered = deduped
    .map((step, index) => ({ step, index }))
    .sort((a, b) => stepPhase[a.step.type] - stepPhase[b.step.type] || a.index - b.index)
    .map(({ step }) => step);

  const adoptions: Plan['adoptions'] = new Map();
  for (const [id, p] of plans) if (p.adopt) adoptions.set(id, { mark: p.adopt, pending: inventory.resources[id]?.adopted === undefined });
  return { steps: ordered, statuses: [...plans.values()].map((p) => p.status), waiting, forgotten: pruned.forgotten, adoptions };
}

/** Whether this pass removes a container (then networks and volumes are pruned in a later pass). */
function removesContainers(planned: Step[], desired: DesiredState, live: LiveState, inventory: Inventory): boolean {
  if (planned.some((s) => s.type === 'container.remove')) return true;
  const wanted = new Set(desired.resources.map((r) => r.id));
  return Object.entries(inventory.resources).some(([id, e]) => e.kind === 'container' && !wanted.has(id as ResourceId) && live.containers.has(e.name));
}
