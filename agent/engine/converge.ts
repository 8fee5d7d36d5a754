// Converges the host to one desired state: observe → plan → apply, pass after
// pass, until nothing is left to do (or the pass cap), then optionally waits for
// health. Level-triggered: every pass looks at the live host afresh.
import { GitfleetError } from '../../shared/errors.ts';
import type { DesiredState, ResourceId } from '../../shared/resources.ts';
import type { ResourceStatus } from '../../shared/status.ts';
import type { Drivers } from '../drivers/types.ts';
import { FlapGuard } from './flap-guard.ts';
import type { Inventory, LiveState } from './model.ts';
import { diagnose } from './diagnose.ts';
import { observe } from './observe.ts';
import { plan as planPass } from './planner.ts';
import { specHash } from './resource-plan.ts';
import { recordContainerFields } from './container-fields.ts';
import { processSecrets } from '../../shared/secrets/mask.ts';
import { runSteps, type StepResult } from './runner.ts';
import { describeStep, type Step } from './steps.ts';

export interface ConvergeOptions {
  revision: string;
  maxPasses?: number;
  /** Wait until no resource is Progressing (or waiting on a dependency), up to this long. 0: do not wait. */
  healthTimeoutMs?: number;
  pollMs?: number;
  /** How long everything must look settled before the health verdict (default 2 s, at most the timeout). */
  settleMs?: number;
  defaultStopTimeout?: number;
  /** A manual sync: also correct drift under `drift: report`. */
  correctReportedDrift?: boolean;
  /** Adoption on (the agent's `--adopt`; host.yaml `adopt: true` turns it on too): docs/adopt.md. */
  adopt?: boolean;
  /** Persists the inventory; called before steps that create (write-ahead) and after each pass. */
  saveInventory: (inventory: Inventory) => Promise<void>;
  onStep?: (result: StepResult) => void;
  /** Each poll of the health gate: what it still waits on (docs/cli.md, `--once` progress). */
  onHealthWait?: (progress: HealthWait) => void;
  /** Set on the converge a health gate continues in (dependents released): the gate's own start and timeout. */
  healthGate?: { startedAt: number; timeoutMs: number };
  flapGuard?: FlapGuard;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface ConvergeResult {
  statuses: ResourceStatus[];
  /** Steps from a new desired state (and prune), as one line each. */
  intended: string[];
  /** Steps that put back hand changes. */
  driftCorrected: string[];
  failures: { step: string; resource: ResourceId | null; code: string; message: string }[];
  converged: boolean;
  /** Every resource Healthy (or Ignored) at the end. */
  healthy: boolean;
  passes: number;
  inventory: Inventory;
  /** Resources this converge took over as they were found (recorded as adopted in the inventory). */
  adopted: ResourceId[];
}

/** The health gate's progress: the resources not settled yet (starting, or held for a dependency), and the time. */
export interface HealthWait {
  pending: Array<{ id: string; health: string; waitingOnDependency: boolean }>;
  elapsedMs: number;
  timeoutMs: number;
}

const creating = new Set<Step['type']>(['container.create', 'unit.write', 'file.write', 'network.create', 'volume.create']);

function startsSomething(step: Step): boolean {
  return step.type === 'container.start' || step.type === 'unit.start' || (step.type === 'container.create' && step.args.start);
}

function recordOwnership(inventory: Inventory, desired: DesiredState, steps: Step[], revision: string, now: string): boolean {
  let changed = false;
  for (const step of steps) {
    if (!creating.has(step.type) || step.resource === null || inventory.resources[step.resource]) continue;
    const resource = desired.resources.find((r) => r.id === step.resource);
    if (!resource) continue;
    // Ownership first, with an empty hash: the change still counts as intended if this apply fails.
    inventory.resources[resource.id] = { kind: resource.kind, name: resource.name, hash: '', revision, appliedAt: now };
    changed = true;
  }
  return changed;
}

/** Still moving: starting up, or held back until a dependency is ready. A kind that cannot be observed (Docker down) is not waited for. */
const isSettled = (s: ResourceStatus, waiting: ReadonlySet<string>): boolean => s.health !== 'Progressing' && !waiting.has(s.id);

export async function converge(drivers: Drivers, desired: DesiredState, start: Inventory, options: ConvergeOptions): Promise<ConvergeResult> {
  const maxPasses = options.maxPasses ?? 10;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const flapGuard = options.flapGuard ?? new FlapGuard();
  const inventory: Inventory = { version: 1, resources: { ...start.resources } };

  if (desired.resources.length === 0 && Object.keys(inventory.resources).length > 0 && !desired.allowEmpty) {
    throw new GitfleetError(
      'EMPTY_STATE_REFUSED',
      `revision ${options.revision.slice(0, 12)} would remove all ${Object.keys(inventory.resources).length} managed resources; set "allowEmpty: true" in host.yaml to allow it`,
    );
  }

  const intended: string[] = [];
  const driftCorrected: string[] = [];
  const failures: ConvergeResult['failures'] = [];
  const failed = new Map<ResourceId, string>();
  let passes = 0;
  let live: LiveState = await observe(drivers, desired, inventory);
  const ctx = () => ({ revision: options.revision, suppressed: flapGuard.suppressed(), defaultStopTimeout: options.defaultStopTimeout ?? 10, correctReportedDrift: options.correctReportedDrift ?? false, adopt: options.adopt === true || desired.adopt === true });
  let current = planPass(desired, live, inventory, ctx());

  // What this converge started: if it needs starting again, it died right after, and
  // starting it once more in the same reconcile would only make a tight loop.
  const started = new Set<ResourceId>();
  while (passes < maxPasses) {
    for (const s of current.steps) {
      if (s.resource === null || failed.has(s.resource) || !started.has(s.resource) || !startsSomething(s)) continue;
      const message = `${s.resource} stopped again right after it was started`;
      failed.set(s.resource, message);
      failures.push({ step: describeStep(s), resource: s.resource, code: 'HEALTH_TIMEOUT', message });
    }
    const steps = current.steps.filter((s) => s.resource === null || !failed.has(s.resource));
    for (const id of current.forgotten) delete inventory.resources[id];
    if (steps.length === 0) break;
    passes++;
    if (recordOwnership(inventory, desired, steps, options.revision, new Date(now()).toISOString())) await options.saveInventory(inventory);
    const results = await runSteps(steps, drivers, {
      afterStep: (result) => options.onStep?.(result),
    });
    for (const result of results) {
      const line = describeStep(result.step);
      if (result.ok) {
        (result.step.cause === 'drift' ? driftCorrected : intended).push(line);
        const { step } = result;
        if (step.resource && startsSomething(step)) started.add(step.resource);
        // Every start of an existing container or unit counts, whatever its cause: a revision that never
        // became healthy must not be restarted in a tight loop either.
        if (step.resource && (step.type === 'container.start' || step.type === 'unit.start')) flapGuard.restarted(step.resource);
        if (step.resource && (step.type === 'container.remove' || step.type === 'unit.delete' || step.type === 'file.remove') && step.cause === 'prune') {
          delete inventory.resources[step.resource];
        }
      } else if (result.error && result.step.resource) {
        failed.set(result.step.resource, `${result.error.message} [${result.error.code}]`);
        failures.push({ step: line, resource: result.step.resource, code: result.error.code, message: result.error.message });
      }
    }
    live = await observe(drivers, desired, inventory);
    current = planPass(desired, live, inventory, ctx());
    await options.saveInventory(inventory);
  }

  // Health gate: wait while anything is still starting or waiting on a dependency,
  // then watch a short settle period, because a unit or container that starts
  // fine can die a moment later (ExecStart=/bin/false, a crashing entrypoint).
  if (options.healthTimeoutMs) {
    const deadline = now() + options.healthTimeoutMs;
    const settleMs = Math.min(options.settleMs ?? 2000, options.healthTimeoutMs);
    const gate = options.healthGate ?? { startedAt: now(), timeoutMs: options.healthTimeoutMs };
    let settledSince: number | null = null;
    for (;;) {
      const waiting = new Set<string>(current.waiting);
      const pending = current.statuses.filter((s) => !isSettled(s, waiting) && !failed.has(s.id as ResourceId));
      const unsettled = pending.length > 0;
      settledSince = unsettled ? null : (settledSince ?? now());
      if (now() >= deadline || (settledSince !== null && now() - settledSince >= settleMs)) break;
      options.onHealthWait?.({
        pending: pending.map((s) => ({ id: s.id, health: s.health, waitingOnDependency: waiting.has(s.id) })),
        elapsedMs: now() - gate.startedAt,
        timeoutMs: gate.timeoutMs,
      });
      await sleep(options.pollMs ?? 250);
      const held = new Set(current.waiting);
      live = await observe(drivers, desired, inventory);
      current = planPass(desired, live, inventory, ctx());
      const work = current.steps.filter((s) => s.resource === null || !failed.has(s.resource));
      // Something that was applied died while we watched: that is the verdict, not something to restart here.
      if (work.some((s) => s.resource !== null && !held.has(s.resource))) break;
      if (work.length > 0) {
        // A dependency became healthy and released its dependents: converge them too.
        const more = await converge(drivers, desired, inventory, { ...options, healthTimeoutMs: Math.max(0, deadline - now()), flapGuard, healthGate: gate });
        return {
          ...more,
          intended: [...intended, ...more.intended],
          driftCorrected: [...driftCorrected, ...more.driftCorrected],
          failures: [...failures, ...more.failures],
          adopted: more.adopted,
          passes: passes + more.passes,
        };
      }
    }
  }

  const verdicts = current.statuses.map((s): ResourceStatus => {
    const failure = failed.get(s.id as ResourceId);
    return failure === undefined ? s : { ...s, sync: 'Failed', health: s.health === 'Healthy' ? 'Degraded' : s.health, message: failure };
  });
  // What failed carries its journal/log lines and exit code or signal, for the hub.
  const statuses = await diagnose(verdicts, live, drivers);
  // What is in sync now is the agent's, at this spec.
  const iso = new Date(now()).toISOString();
  const adopted: ResourceId[] = [];
  for (const s of statuses) {
    const resource = desired.resources.find((r) => r.id === s.id);
    if (!resource || s.sync !== 'InSync') continue;
    const hash = specHash(resource);
    let entry = inventory.resources[resource.id];
    // Taken over as found: recorded as adopted (a container with the id and config hash its inspection matched).
    const adoption = current.adoptions.get(resource.id);
    if (adoption && (!entry || entry.hash !== hash || entry.adopted === undefined)) {
      if (entry?.adopted === undefined) adopted.push(resource.id);
      entry = inventory.resources[resource.id] = { kind: resource.kind, name: resource.name, hash, revision: options.revision, appliedAt: iso, adopted: { ...adoption.mark, at: entry?.adopted?.at ?? iso } };
    } else if (!adoption && entry?.adopted !== undefined && entry.hash === hash) {
      // Rewritten or recreated by the agent since: its own now.
      const { adopted: _taken, ...own } = entry;
      entry = inventory.resources[resource.id] = own;
    }
    // A container's applied spec is also kept field by field, for plan's field diffs (also filled in for an older inventory).
    const fields = resource.kind === 'container' ? recordContainerFields(resource.id, resource.spec, (t) => processSecrets.taints(t)) : undefined;
    if (!entry || entry.hash !== hash) {
      inventory.resources[resource.id] = { kind: resource.kind, name: resource.name, hash, revision: options.revision, appliedAt: iso, ...(fields ? { fields } : {}) };
    } else if (fields && entry.fields?.configHash !== fields.configHash) inventory.resources[resource.id] = { ...entry, fields };
    flapGuard.healthy(resource.id);
  }
  await options.saveInventory(inventory);

  const converged = current.steps.length === 0 && statuses.every((s) => s.sync === 'InSync' || s.sync === 'Ignored');
  const healthy = statuses.every((s) => s.health === 'Healthy' || s.sync === 'Ignored');
  return { statuses, intended, driftCorrected, failures, converged, healthy, passes, inventory, adopted };
}
