// Unit planning. A unit's file, drop-ins, enablement and run state are checked
// separately, so a hand `systemctl stop` is corrected by a start, not a rewrite.
import type { UnitResource } from '../../shared/resources.ts';
import type { FieldDiff, HealthState } from '../../shared/status.ts';
import type { LiveUnit } from '../drivers/types.ts';
import type { Inventory, LiveState, PlanContext } from './model.ts';
import { applyDriftPolicy, causeOf, status, type ResourcePlan } from './resource-plan.ts';
import type { Step, StepCause } from './steps.ts';

/** A unit that restarted this often since it was started is flapping. */
export const FLAPPING_RESTARTS = 3;

export function unitMarker(id: string): string {
  return `# Managed by gitfleet (${id}): edits on the host are overwritten.\n`;
}

/** The exact file the agent writes: an ownership marker an operator sees, then the declared content. */
export function renderUnitFile(resource: UnitResource): string {
  const content = resource.spec.content.endsWith('\n') ? resource.spec.content : `${resource.spec.content}\n`;
  return unitMarker(resource.id) + content;
}

function sameDropins(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a).sort();
  const bk = Object.keys(b).sort();
  return ak.length === bk.length && ak.every((k, i) => k === bk[i] && a[k] === b[k]);
}

const runningStates = new Set(['active', 'activating', 'reloading']);

export function unitHealth(live: LiveUnit | undefined, wantRunning: boolean): HealthState {
  if (!live || live.content === null) return 'Degraded';
  if (live.activeState === 'failed') return 'Degraded';
  if (wantRunning && live.nRestarts >= FLAPPING_RESTARTS) return 'Degraded';
  if (!wantRunning) return live.activeState === 'inactive' ? 'Healthy' : 'Progressing';
  if (live.activeState === 'active') return 'Healthy';
  if (live.activeState === 'activating' || live.activeState === 'reloading') return 'Progressing';
  return 'Degraded';
}

export function planUnit(resource: UnitResource, live: LiveState, inventory: Inventory, ctx: PlanContext): ResourcePlan {
  const name = resource.name;
  const spec = resource.spec;
  // A template (app@.service) cannot be started or enabled itself; only its instances can.
  const template = /@\.[a-z]+$/.test(name);
  const wantRunning = !template && (spec.state ?? 'running') === 'running';
  const wantEnabled = !template && (spec.enabled ?? true);
  if (live.unavailable.unit !== undefined) {
    return { resource, steps: [], status: status(resource, 'Pending', 'Unknown', [], `cannot observe units: ${live.unavailable.unit}`) };
  }
  const cause: StepCause = causeOf(resource, inventory);
  const current = live.units.get(name);
  const content = renderUnitFile(resource);
  const dropins = spec.dropins ?? {};
  const steps: Step[] = [];
  const diff: FieldDiff[] = [];
  const base = { resource: resource.id, cause };
  const missing = !current || current.content === null;

  const fileChanged = missing || current.content !== content || !sameDropins(current.dropins, dropins);
  if (fileChanged) {
    diff.push(missing ? { field: 'file', desired: 'present', live: 'absent' } : { field: current.content !== content ? 'content' : 'dropins', desired: 'declared', live: 'edited' });
    steps.push({ type: 'unit.write', args: { name, content, dropins }, ...base, reason: missing ? 'unit file missing' : 'unit file differs' });
    steps.push({ type: 'unit.daemon-reload', args: {}, resource: null, cause, reason: `${name} changed` });
  }
  if (!fileChanged && current?.needDaemonReload) {
    // The file on disk is right but systemd still runs an older load of it (e.g. an agent killed between write and reload).
    diff.push({ field: 'loaded', desired: 'current file', live: 'stale (daemon-reload due)' });
    steps.push({ type: 'unit.daemon-reload', args: {}, resource: null, cause, reason: `${name} changed on disk` });
    if (wantRunning && runningStates.has(current.activeState)) steps.push({ type: 'unit.restart', args: { name }, ...base, reason: 'unit file changed on disk' });
  }
  const fileState = current?.unitFileState ?? 'not-found';
  if (fileState === 'masked' || fileState === 'masked-runtime') {
    diff.push({ field: 'unitFileState', desired: wantEnabled ? 'enabled' : 'disabled', live: fileState });
    steps.push({ type: 'unit.unmask', args: { name }, ...base, reason: 'unit is masked' });
  }
  const isEnabled = fileState === 'enabled' || fileState === 'enabled-runtime';
  // A unit without an [Install] section is "static": there is nothing to enable.
  if (wantEnabled && !isEnabled && fileState !== 'static' && !missing) {
    if (fileState !== 'masked') diff.push({ field: 'enabled', desired: true, live: fileState });
    steps.push({ type: 'unit.enable', args: { name }, ...base, reason: 'enable' });
  } else if (wantEnabled && missing) {
    steps.push({ type: 'unit.enable', args: { name }, ...base, reason: 'enable' });
  } else if (!wantEnabled && isEnabled) {
    diff.push({ field: 'enabled', desired: false, live: fileState });
    steps.push({ type: 'unit.disable', args: { name }, ...base, reason: 'disable' });
  }

  const activeState = current?.activeState ?? 'inactive';
  const suppressed = ctx.suppressed.get(resource.id);
  if (wantRunning) {
    if (!runningStates.has(activeState)) {
      diff.push({ field: 'activeState', desired: 'active', live: activeState });
      if (suppressed === undefined || fileChanged) {
        if (activeState === 'failed') steps.push({ type: 'unit.reset-failed', args: { name }, ...base, reason: 'unit failed' });
        steps.push({ type: 'unit.start', args: { name }, ...base, reason: activeState === 'failed' ? 'unit failed' : 'unit is not running' });
      }
    } else if (fileChanged && !missing) {
      // A changed unit file restarts its running unit.
      steps.push({ type: 'unit.restart', args: { name }, ...base, reason: 'unit file changed' });
    }
  } else if (!template && activeState !== 'inactive' && activeState !== 'failed') {
    diff.push({ field: 'activeState', desired: 'inactive', live: activeState });
    steps.push({ type: 'unit.stop', args: { name }, ...base, reason: 'state: stopped' });
  }

  const health = unitHealth(current, wantRunning);
  if (steps.length === 0) {
    const message = health === 'Degraded' ? `unit is ${activeState}${current && current.nRestarts > 0 ? ` (${current.nRestarts} restarts)` : ''}` : undefined;
    return { resource, steps, status: status(resource, 'InSync', health, [], message) };
  }
  const plan: ResourcePlan = {
    resource,
    steps,
    status: status(resource, missing ? 'Missing' : 'Drifted', health, diff, suppressed),
  };
  return applyDriftPolicy(plan, cause, resource.drift, ctx.correctReportedDrift);
}

/** Prune of a unit the agent wrote: stop and disable first, then delete and reload on a later pass. */
export function pruneUnit(id: `unit/${string}`, name: string, current: LiveUnit | undefined): Step[] {
  const base = { resource: id, cause: 'prune' as const };
  if (!current || (current.content === null && Object.keys(current.dropins).length === 0)) return [];
  const steps: Step[] = [];
  if (runningStates.has(current.activeState)) steps.push({ type: 'unit.stop', args: { name }, ...base, reason: 'no longer declared' });
  if (current.unitFileState === 'enabled') steps.push({ type: 'unit.disable', args: { name }, ...base, reason: 'no longer declared' });
  if (steps.length > 0) return steps;
  return [
    { type: 'unit.delete', args: { name }, ...base, reason: 'no longer declared' },
    { type: 'unit.daemon-reload', args: {}, resource: null, cause: 'prune', reason: `${name} deleted` },
  ];
}
