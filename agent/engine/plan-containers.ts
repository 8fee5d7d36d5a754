// Container planning: the config-hash label turns "must this be recreated?"
// into a string comparison, as docker compose does.
import type { ContainerResource } from '../../shared/resources.ts';
import { MASK, processSecrets } from '../../shared/secrets/mask.ts';
import { diffContainerFields, recordContainerFields } from './container-fields.ts';
import type { FieldDiff } from '../../shared/status.ts';
import { containerLabels, MANAGED_BY, type LiveContainer } from '../drivers/types.ts';
import { containerHash } from './hash.ts';
import { containerConfigDiff } from './container-match.ts';
import type { AdoptedMark, Inventory, LiveState, PlanContext } from './model.ts';
import { applyDriftPolicy, causeOf, status, type ResourcePlan } from './resource-plan.ts';
import type { Step, StepCause } from './steps.ts';
import { durationSeconds } from '../../shared/durations.ts';

export function ownershipLabels(resource: ContainerResource, revision: string): Record<string, string> {
  return {
    [containerLabels.managedBy]: MANAGED_BY,
    [containerLabels.resource]: resource.id,
    [containerLabels.configHash]: containerHash(resource.spec),
    [containerLabels.revision]: revision,
  };
}

export function isOwnedContainer(live: LiveContainer, id: string): boolean {
  return live.labels[containerLabels.managedBy] === MANAGED_BY && live.labels[containerLabels.resource] === id;
}

export function stopTimeout(resource: ContainerResource, ctx: PlanContext): number {
  const grace = resource.spec.stop_grace_period;
  return grace === undefined ? ctx.defaultStopTimeout : Math.ceil(durationSeconds(grace));
}

function createSteps(resource: ContainerResource, ctx: PlanContext, cause: StepCause, reason: string, replace: boolean): Step[] {
  const name = resource.name;
  const spec = resource.spec;
  const base = { resource: resource.id, cause, reason };
  const steps: Step[] = [{ type: 'container.pull', args: { name, image: spec.image, policy: spec.pull ?? 'missing' }, ...base }];
  // The new image is made available before the old container stops.
  if (replace) steps.push({ type: 'container.remove', args: { name }, ...base });
  steps.push({
    type: 'container.create',
    args: { name, spec, labels: ownershipLabels(resource, ctx.revision), start: (spec.state ?? 'running') === 'running' },
    ...base,
  });
  return steps;
}

function healthOf(live: LiveContainer, wantRunning: boolean): 'Healthy' | 'Progressing' | 'Degraded' {
  if (!wantRunning) return live.state === 'running' ? 'Degraded' : 'Healthy';
  if (live.state === 'restarting') return 'Degraded';
  if (live.state !== 'running') return 'Degraded';
  if (live.health === 'unhealthy') return 'Degraded';
  if (live.health === 'starting') return 'Progressing';
  return 'Healthy';
}

/**
 * `runOnce`: another container waits for this one to complete (Compose's
 * `service_completed_successfully`): it is started once and, once exited, left
 * exited — healthy when its exit code is 0.
 */
export function planContainer(resource: ContainerResource, live: LiveState, inventory: Inventory, ctx: PlanContext, runOnce = false): ResourcePlan {
  const name = resource.name;
  const spec = resource.spec;
  const wantRunning = (spec.state ?? 'running') === 'running';
  if (live.unavailable.container !== undefined) {
    return { resource, steps: [], status: status(resource, 'Pending', 'Unknown', [], `cannot observe containers: ${live.unavailable.container}`) };
  }
  const cause = causeOf(resource, inventory);
  const current = live.containers.get(name);

  if (!current) {
    const reason = cause === 'intended' ? 'create' : 'container was removed on the host';
    const plan = { resource, steps: createSteps(resource, ctx, cause, reason, false), status: status(resource, 'Missing', 'Degraded', [{ field: 'container', desired: 'present', live: 'absent' }]) };
    return applyDriftPolicy(plan, cause, resource.drift, ctx.correctReportedDrift);
  }

  const entry = inventory.resources[resource.id];
  // A container adopted earlier carries no labels of ours: its id and the hash its inspection matched are in the inventory.
  const adopted = !isOwnedContainer(current, resource.id) && entry?.adopted?.containerId === current.id ? entry.adopted : undefined;
  if (!isOwnedContainer(current, resource.id) && !adopted) {
    if (entry === undefined) {
      if (ctx.adopt) return planAdoption(resource, current, ctx, wantRunning && !(runOnce && hasRun(current)));
      return {
        resource,
        steps: [],
        status: status(resource, 'Failed', 'Unknown', [], `the name "${name}" is taken by a container gitfleet did not create; it is left alone (adopt: true in host.yaml takes it over when it matches, docs/adopt.md) [NAME_CONFLICT]`),
      };
    }
    // The agent owned this name and someone put another container there by hand.
    const diff: FieldDiff[] = [{ field: 'image', desired: spec.image, live: current.image }, { field: 'managed-by', desired: MANAGED_BY, live: current.labels[containerLabels.managedBy] ?? null }];
    const plan = { resource, steps: createSteps(resource, ctx, 'drift', 'container was replaced by hand', true), status: status(resource, 'Drifted', healthOf(current, wantRunning), diff) };
    return applyDriftPolicy(plan, 'drift', resource.drift, ctx.correctReportedDrift);
  }

  if (adopted) return asAdopted(planOwned(resource, current, inventory, ctx, adopted.configHash, runOnce), adopted);
  return planOwned(resource, current, inventory, ctx, current.labels[containerLabels.configHash], runOnce);
}

const hasRun = (c: LiveContainer): boolean => c.state === 'exited' || c.state === 'dead';

/** A run-once container that has run: never started again by the agent; its exit code is its health. */
function completedJob(resource: ContainerResource, current: LiveContainer): ResourcePlan {
  const ok = current.exitCode === 0;
  return { resource, steps: [], status: status(resource, 'InSync', ok ? 'Healthy' : 'Degraded', [], ok ? 'completed (exit code 0)' : `exited with code ${current.exitCode ?? 'unknown'}`) };
}

/** A container the agent owns (by its labels, or adopted): recreated when its config hash differs, else kept running or stopped. */
function planOwned(resource: ContainerResource, current: LiveContainer, inventory: Inventory, ctx: PlanContext, liveHash: string | undefined, runOnce = false): ResourcePlan {
  const name = resource.name;
  const spec = resource.spec;
  const wantRunning = (spec.state ?? 'running') === 'running';
  const cause = causeOf(resource, inventory);
  const wanted = containerHash(spec);
  if (liveHash !== wanted) {
    // A secret container's hash covers its secret env: guessable offline when the secret is weak, so
    // viewers of the hub see only that it changed (docs/secrets.md).
    // Field by field when the inventory recorded the spec this container was created from; else only the hash.
    const applied = inventory.resources[resource.id]?.fields;
    const fields = applied && applied.configHash === liveHash ? diffContainerFields(applied, recordContainerFields(resource.id, spec, (t) => processSecrets.taints(t))) : null;
    const diff: FieldDiff[] = fields ?? [resource.secret ? { field: 'config-hash', desired: MASK, live: 'changed' } : { field: 'config-hash', desired: wanted, live: liveHash ?? null }];
    if (!fields && current.image !== spec.image) diff.unshift({ field: 'image', desired: spec.image, live: current.image });
    const changed = fields ? `: ${fields.slice(0, 5).map((d) => d.field).join(', ')}${fields.length > 5 ? ', …' : ''}` : '';
    const reason = cause === 'intended' ? `spec changed${changed}` : 'container config differs from the applied spec';
    const plan = { resource, steps: createSteps(resource, ctx, cause, reason, true), status: status(resource, 'Drifted', healthOf(current, wantRunning), diff) };
    return applyDriftPolicy(plan, cause, resource.drift, ctx.correctReportedDrift);
  }

  if (runOnce && wantRunning && hasRun(current)) return completedJob(resource, current);
  if (runOnce && wantRunning && current.state === 'running') {
    return { resource, steps: [], status: status(resource, 'InSync', 'Progressing', [], 'running to completion (a dependant waits for exit code 0)') };
  }
  const suppressed = ctx.suppressed.get(resource.id);
  if (wantRunning && current.state !== 'running' && current.state !== 'restarting') {
    const diff: FieldDiff[] = [{ field: 'state', desired: 'running', live: current.state }];
    if (suppressed !== undefined) {
      return { resource, steps: [], status: status(resource, 'Drifted', 'Degraded', diff, suppressed) };
    }
    const steps: Step[] = [{ type: 'container.start', args: { name }, resource: resource.id, cause, reason: cause === 'intended' ? 'start' : `container is ${current.state}` }];
    return applyDriftPolicy({ resource, steps, status: status(resource, 'Drifted', 'Degraded', diff) }, cause, resource.drift, ctx.correctReportedDrift);
  }
  if (!wantRunning && current.state === 'running') {
    const steps: Step[] = [{ type: 'container.stop', args: { name, timeoutSeconds: stopTimeout(resource, ctx) }, resource: resource.id, cause, reason: 'state: stopped' }];
    return applyDriftPolicy({ resource, steps, status: status(resource, 'Drifted', 'Degraded', [{ field: 'state', desired: 'stopped', live: 'running' }]) }, cause, resource.drift, ctx.correctReportedDrift);
  }
  const health = healthOf(current, wantRunning);
  return { resource, steps: [], status: status(resource, 'InSync', health, [], health === 'Degraded' ? `container is ${current.state}${current.health ? `, ${current.health}` : ''}` : undefined) };
}

/** Still the container that was adopted, unless this plan recreates it (then it becomes the agent's own, with labels). */
function asAdopted(plan: ResourcePlan, mark: AdoptedMark): ResourcePlan {
  if (plan.steps.some((s) => s.type === 'container.create')) return plan;
  return { ...plan, adopt: mark, status: { ...plan.status, adoption: 'Adopted' } };
}

/**
 * Adoption (docs/adopt.md): a container the agent did not create holds the
 * declared name. One whose configuration matches its declaration is taken over
 * as it is (no recreate: only a start or stop if its run state differs); one that
 * differs is replaced, and the status says which keys differ.
 */
function planAdoption(resource: ContainerResource, current: LiveContainer, ctx: PlanContext, wantRunning: boolean): ResourcePlan {
  const diff: FieldDiff[] = current.config ? containerConfigDiff(resource, current.config) : [{ field: 'config', desired: 'declared', live: 'not inspectable' }];
  if (diff.length > 0) {
    const reason = `adopt: replace (differs: ${diff.slice(0, 6).map((d) => d.field).join(', ')}${diff.length > 6 ? ', …' : ''})`;
    return {
      resource,
      steps: createSteps(resource, ctx, 'intended', reason, true),
      status: { ...status(resource, 'Drifted', healthOf(current, wantRunning), diff, `${reason}: the container gitfleet did not create differs from its declaration and is replaced`), adoption: 'Replace' },
    };
  }
  const mark: AdoptedMark = { containerId: current.id, configHash: containerHash(resource.spec) };
  const message = `adopted: created outside gitfleet (id ${current.id.slice(0, 12)}), its configuration matches the declaration; kept as it is`;
  const steps: Step[] = [];
  if (wantRunning && current.state !== 'running' && current.state !== 'restarting') {
    steps.push({ type: 'container.start', args: { name: resource.name }, resource: resource.id, cause: 'intended', reason: 'adopt: start' });
  } else if (!wantRunning && current.state === 'running') {
    steps.push({ type: 'container.stop', args: { name: resource.name, timeoutSeconds: stopTimeout(resource, ctx) }, resource: resource.id, cause: 'intended', reason: 'adopt: state: stopped' });
  }
  const health = healthOf(current, wantRunning);
  return { resource, steps, adopt: mark, status: { ...status(resource, steps.length > 0 ? 'Drifted' : 'InSync', health, [], message), adoption: 'Adopted' } };
}
