// Unit planning. A unit's file, drop-ins, enablement and run state are checked
// separately, so a hand `systemctl stop` is corrected by a start, not a rewrite.
//
// Three kinds of unit resource (docs/units-and-files.md):
// - owned: `content` given — the agent writes the unit file and its drop-ins;
// - drop-ins only: no `content` — the unit is the distribution's; the agent
//   writes only its drop-ins (each carrying the marker) and never the unit file;
// - masked: `state: masked` — linked to /dev/null with `systemctl mask`.
// How a unit runs by default depends on what it is: a long-running service, a
// socket/timer/path/target is kept running; a run-to-completion service
// (Type=oneshot without RemainAfterExit) or one a timer, socket or path
// activates is never started or stopped by the agent, and is healthy when its
// last run did not fail.
import type { DesiredResource, UnitResource } from '../../shared/resources.ts';
import type { FieldDiff, HealthState } from '../../shared/status.ts';
import { activatedBy, isRunToCompletion, MANAGED_MARKER_PREFIX, unitDirectives, unitTypeOf } from '../../shared/unit-file.ts';
import type { LiveUnit } from '../drivers/types.ts';
import type { Inventory, LiveState, PlanContext } from './model.ts';
import { applyDriftPolicy, causeOf, status, type ResourcePlan } from './resource-plan.ts';
import type { Step, StepCause } from './steps.ts';

/** A unit that restarted this often since it was started is flapping. */
export const FLAPPING_RESTARTS = 3;

export function unitMarker(id: string): string {
  return `${MANAGED_MARKER_PREFIX}${id}): edits on the host are overwritten.\n`;
}

function withMarker(id: string, text: string): string {
  return unitMarker(id) + (text.endsWith('\n') ? text : `${text}\n`);
}

/** The exact file the agent writes: an ownership marker an operator sees, then the declared content. */
export function renderUnitFile(resource: UnitResource): string {
  return withMarker(resource.id, resource.spec.content ?? '');
}

/** Drop-ins as written: raw for a unit the agent owns (its whole `.d` is the agent's), marked for a unit it does not. */
export function renderDropins(resource: UnitResource): Record<string, string> {
  const dropins = resource.spec.dropins ?? {};
  if (resource.spec.content !== undefined) return { ...dropins };
  return Object.fromEntries(Object.entries(dropins).map(([file, text]) => [file, withMarker(resource.id, text)]));
}

/** The drop-ins of a live unit the agent wrote into a unit it does not own: the marked ones. */
export function markedDropins(live: LiveUnit): Record<string, string> {
  return Object.fromEntries(Object.entries(live.dropins).filter(([, text]) => text.startsWith(MANAGED_MARKER_PREFIX)));
}

/**
 * Units a declared timer, socket or path activates (by its unit file), so the
 * planner knows before the first daemon-reload that they are not to be kept running.
 */
export function activatedUnits(resources: readonly DesiredResource[]): Set<string> {
  const out = new Set<string>();
  for (const r of resources) {
    if (r.kind !== 'unit' || r.spec.content === undefined) continue;
    for (const name of activatedBy(r.name, unitDirectives([r.spec.content, ...Object.values(r.spec.dropins ?? {})]))) out.add(name);
  }
  return out;
}

const withNewline = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);
const mapValues = (m: Record<string, string>, f: (v: string) => string): Record<string, string> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, f(v)]));

function sameDropins(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a).sort();
  const bk = Object.keys(b).sort();
  return ak.length === bk.length && ak.every((k, i) => k === bk[i] && a[k] === b[k]);
}

const runningStates = new Set(['active', 'activating', 'reloading']);
/** File states with nothing to enable: no [Install] (static), only Also= (indirect), made by a generator, transient, an alias name. */
const notEnableable = new Set(['static', 'indirect', 'generated', 'transient', 'alias']);
const isMasked = (fileState: string) => fileState === 'masked' || fileState === 'masked-runtime';

/** `running`/`stopped`: the agent keeps it so; `masked`; `as-triggered`: the agent never starts or stops it. */
export type UnitRun = 'running' | 'stopped' | 'masked' | 'as-triggered';

export function unitRunOf(resource: UnitResource, current: LiveUnit | undefined, activated: ReadonlySet<string>): UnitRun {
  const name = resource.name;
  const template = /@\.[a-z]+$/.test(name);
  if (resource.spec.state !== undefined) return template && resource.spec.state !== 'masked' ? 'as-triggered' : resource.spec.state;
  if (template) return 'as-triggered';
  if (resource.spec.content === undefined) return 'as-triggered'; // the distribution's unit: its run state stays the distribution's
  if (unitTypeOf(name) !== 'service') return 'running';
  const d = unitDirectives([resource.spec.content, ...Object.values(resource.spec.dropins ?? {})]);
  const templateName = name.replace(/@[^.]*\./, '@.');
  const triggered = activated.has(name) || activated.has(templateName) || (current?.triggeredBy?.length ?? 0) > 0;
  return isRunToCompletion(d) || triggered ? 'as-triggered' : 'running';
}

export function unitHealth(live: LiveUnit | undefined, run: UnitRun | boolean, ownsFile = true): HealthState {
  const mode: UnitRun = run === true ? 'running' : run === false ? 'stopped' : run;
  if (!live) return 'Degraded';
  if (mode === 'masked') return isMasked(live.unitFileState) && !runningStates.has(live.activeState) ? 'Healthy' : 'Degraded';
  if (ownsFile ? live.content === null : live.loadState === 'not-found') return 'Degraded';
  if (live.activeState === 'failed') return 'Degraded';
  if (mode !== 'stopped' && live.nRestarts >= FLAPPING_RESTARTS && runningStates.has(live.activeState)) return 'Degraded';
  if (mode === 'as-triggered') return 'Healthy'; // its last run did not fail, or it has not run yet
  if (mode === 'stopped') return live.activeState === 'inactive' ? 'Healthy' : 'Progressing';
  if (live.activeState === 'active') return 'Healthy';
  if (live.activeState === 'activating' || live.activeState === 'reloading') return 'Progressing';
  return 'Degraded';
}

function degradedMessage(current: LiveUnit | undefined, run: UnitRun, ownsFile: boolean, name: string): string | undefined {
  if (!current) return undefined;
  if (!ownsFile && current.loadState === 'not-found' && run !== 'masked') return `${name} is not installed on this host (its drop-ins are written)`;
  const restarts = current.nRestarts > 0 ? ` (${current.nRestarts} restarts)` : '';
  const how = current.exitCode !== null && current.exitCode !== undefined ? `, exit code ${current.exitCode}` : current.signal ? `, killed by ${current.signal}` : '';
  if (run === 'as-triggered' && current.activeState === 'failed') return `last run failed (${current.result}${how})`;
  return `unit is ${current.activeState}${current.activeState === 'failed' ? ` (${current.result}${how})` : ''}${restarts}`;
}

function planMasked(resource: UnitResource, current: LiveUnit | undefined, cause: StepCause): { steps: Step[]; diff: FieldDiff[]; refused?: string } {
  const name = resource.name;
  const base = { resource: resource.id, cause };
  const steps: Step[] = [];
  const diff: FieldDiff[] = [];
  if (current?.content != null) {
    // `systemctl mask` refuses a real unit file in /etc/systemd/system; the agent removes only one it wrote.
    if (!current.content.startsWith(unitMarker(resource.id))) {
      return { steps, diff, refused: `cannot mask ${name}: /etc/systemd/system/${name} is a unit file the agent did not write (remove it by hand, or declare the unit with content)` };
    }
    steps.push({ type: 'unit.delete', args: { name }, ...base, reason: 'masked: the unit file goes' });
    steps.push({ type: 'unit.daemon-reload', args: {}, resource: null, cause, reason: `${name} deleted` });
  } else if (current && Object.keys(markedDropins(current)).length > 0) {
    steps.push({ type: 'unit.write', args: { name, content: null, dropins: {} }, ...base, reason: 'masked: its drop-ins go' });
  }
  const fileState = current?.unitFileState ?? '';
  if (!isMasked(fileState)) {
    diff.push({ field: 'unitFileState', desired: 'masked', live: fileState || 'not-found' });
    steps.push({ type: 'unit.mask', args: { name }, ...base, reason: 'state: masked' });
  }
  if (current && runningStates.has(current.activeState)) {
    diff.push({ field: 'activeState', desired: 'inactive', live: current.activeState });
    steps.push({ type: 'unit.stop', args: { name }, ...base, reason: 'state: masked' });
  } else if (current?.activeState === 'failed' && isMasked(fileState)) {
    // Masking a running timer fails it ("Unit to trigger vanished"): clear that, it is what was asked for.
    steps.push({ type: 'unit.reset-failed', args: { name }, ...base, reason: 'masked, left failed' });
  }
  return { steps, diff };
}

export function planUnit(resource: UnitResource, live: LiveState, inventory: Inventory, ctx: PlanContext, activated: ReadonlySet<string> = new Set()): ResourcePlan {
  const name = resource.name;
  const spec = resource.spec;
  if (live.unavailable.unit !== undefined) {
    return { resource, steps: [], status: status(resource, 'Pending', 'Unknown', [], `cannot observe units: ${live.unavailable.unit}`) };
  }
  const cause: StepCause = causeOf(resource, inventory);
  const current = live.units.get(name);
  const run = unitRunOf(resource, current, activated);
  const ownsFile = spec.content !== undefined;
  const base = { resource: resource.id, cause };

  if (run === 'masked') {
    const masked = planMasked(resource, current, cause);
    if (masked.refused) return { resource, steps: [], status: status(resource, 'Failed', 'Degraded', masked.diff, masked.refused) };
    const health = unitHealth(current, 'masked');
    if (masked.steps.length === 0) return { resource, steps: [], status: status(resource, 'InSync', health) };
    const plan: ResourcePlan = { resource, steps: masked.steps, status: status(resource, 'Drifted', health, masked.diff) };
    return applyDriftPolicy(plan, cause, resource.drift, ctx.correctReportedDrift);
  }

  const template = /@\.[a-z]+$/.test(name);
  // A template (app@.service) cannot be started or enabled itself; only its instances can.
  const wantEnabled: boolean | null = template ? false : (spec.enabled ?? (ownsFile ? true : null));
  const content = ownsFile ? renderUnitFile(resource) : null;
  const dropins = renderDropins(resource);
  const steps: Step[] = [];
  const diff: FieldDiff[] = [];
  const missing = ownsFile && (!current || current.content === null);
  // Of a unit the agent does not own, only the drop-ins it declares or marked as its own count.
  const liveDropins = !current ? {} : ownsFile ? current.dropins : { ...markedDropins(current), ...Object.fromEntries(Object.keys(dropins).filter((f) => f in current.dropins).map((f) => [f, current.dropins[f]!])) };

  // Adoption (docs/adopt.md): a unit file or drop-in written by hand, without the agent's marker, that says
  // exactly what is declared is taken over as it is — not rewritten, reloaded or restarted.
  const entry = inventory.resources[resource.id];
  const adoptable = current !== undefined && ((ctx.adopt === true && entry === undefined) || entry?.adopted !== undefined);
  const plainDropins = Object.fromEntries(Object.entries(spec.dropins ?? {}).map(([f, t]) => [f, withNewline(t)]));
  const adoptedContent = adoptable && ownsFile && !missing && current.content !== content && current.content === withNewline(spec.content ?? '');
  const adoptedDropins = adoptable && Object.keys(plainDropins).length > 0 && !sameDropins(liveDropins, dropins) && sameDropins(mapValues(liveDropins, withNewline), plainDropins);
  const adopting = adoptable && (adoptedContent || adoptedDropins);
  const contentChanged = ownsFile && (missing || (current?.content !== content && !adoptedContent));
  const dropinsChanged = !sameDropins(liveDropins, dropins) && !adoptedDropins;
  const fileChanged = contentChanged || dropinsChanged;
  if (fileChanged) {
    diff.push(missing ? { field: 'file', desired: 'present', live: 'absent' } : { field: contentChanged ? 'content' : 'dropins', desired: 'declared', live: 'edited' });
    const reason = missing ? 'unit file missing' : contentChanged ? 'unit file differs' : 'drop-ins differ';
    steps.push({ type: 'unit.write', args: { name, content, dropins }, ...base, reason });
    steps.push({ type: 'unit.daemon-reload', args: {}, resource: null, cause, reason: `${name} changed` });
  }
  const restartable = run === 'running' || (run === 'as-triggered' && current?.serviceType !== 'oneshot');
  if (!fileChanged && current?.needDaemonReload) {
    // The file on disk is right but systemd still runs an older load of it (e.g. an agent killed between write and reload).
    diff.push({ field: 'loaded', desired: 'current file', live: 'stale (daemon-reload due)' });
    steps.push({ type: 'unit.daemon-reload', args: {}, resource: null, cause, reason: `${name} changed on disk` });
    if (restartable && runningStates.has(current.activeState)) steps.push({ type: 'unit.restart', args: { name }, ...base, reason: 'unit file changed on disk' });
  }
  const fileState = current?.unitFileState ?? 'not-found';
  if (isMasked(fileState) && (ownsFile || wantEnabled !== null || run === 'running')) {
    diff.push({ field: 'unitFileState', desired: wantEnabled ? 'enabled' : 'disabled', live: fileState });
    steps.push({ type: 'unit.unmask', args: { name }, ...base, reason: 'unit is masked' });
  }
  const isEnabled = fileState === 'enabled' || fileState === 'enabled-runtime';
  if (wantEnabled === true && !isEnabled && !notEnableable.has(fileState) && !missing) {
    if (!isMasked(fileState)) diff.push({ field: 'enabled', desired: true, live: fileState });
    steps.push({ type: 'unit.enable', args: { name }, ...base, reason: 'enable' });
  } else if (wantEnabled === true && missing) {
    steps.push({ type: 'unit.enable', args: { name }, ...base, reason: 'enable' });
  } else if (wantEnabled === false && !template && isEnabled) {
    diff.push({ field: 'enabled', desired: false, live: fileState });
    steps.push({ type: 'unit.disable', args: { name }, ...base, reason: 'disable' });
  }

  const activeState = current?.activeState ?? 'inactive';
  const suppressed = ctx.suppressed.get(resource.id);
  // A unit whose Condition…= did not hold at its last start stays inactive by design; a changed file tries again.
  const conditionUnmet = current?.conditionMet === false && activeState === 'inactive' && !fileChanged;
  if (run === 'running' && !conditionUnmet) {
    if (!runningStates.has(activeState)) {
      diff.push({ field: 'activeState', desired: 'active', live: activeState });
      if (suppressed === undefined || fileChanged) {
        if (activeState === 'failed') steps.push({ type: 'unit.reset-failed', args: { name }, ...base, reason: 'unit failed' });
        steps.push({ type: 'unit.start', args: { name }, ...base, reason: activeState === 'failed' ? 'unit failed' : 'unit is not running' });
      }
    } else if (fileChanged && !missing) {
      // A changed unit file (or drop-in) restarts its running unit.
      steps.push({ type: 'unit.restart', args: { name }, ...base, reason: contentChanged ? 'unit file changed' : 'drop-ins changed' });
    }
  } else if (run === 'running') {
    // conditionUnmet: nothing to start.
  } else if (run === 'stopped') {
    if (!template && activeState !== 'inactive' && activeState !== 'failed') {
      diff.push({ field: 'activeState', desired: 'inactive', live: activeState });
      steps.push({ type: 'unit.stop', args: { name }, ...base, reason: 'state: stopped' });
    }
  } else if (fileChanged && !missing && restartable && !template && runningStates.has(activeState)) {
    // Not kept running by the agent, but running now (activated, or the distribution's): it picks up the change.
    steps.push({ type: 'unit.restart', args: { name }, ...base, reason: contentChanged ? 'unit file changed' : 'drop-ins changed' });
  }

  const health: HealthState = conditionUnmet && run === 'running' ? 'Healthy' : unitHealth(current, run, ownsFile);
  const adoption = adopting && !fileChanged ? { adopt: {}, adoption: 'Adopted' as const } : null;
  // Taken over before, now declared differently: written as any unit the agent owns (with its marker).
  const rewrite = fileChanged && ctx.adopt === true && entry === undefined && current !== undefined && !(current.content ?? '').startsWith(MANAGED_MARKER_PREFIX) && (current.content !== null || Object.keys(current.dropins).length > 0);
  if (steps.length === 0) {
    const message = adoption
      ? 'adopted: written outside gitfleet, its file says what is declared; kept as it is (not rewritten, reloaded or restarted)'
      : health === 'Degraded' ? degradedMessage(current, run, ownsFile, name) : conditionUnmet && run === 'running' ? 'not running: a Condition…= of the unit does not hold' : undefined;
    const st = status(resource, 'InSync', health, [], message);
    return adoption ? { resource, steps, adopt: adoption.adopt, status: { ...st, adoption: adoption.adoption } } : { resource, steps, status: st };
  }
  if (adoption || rewrite) {
    const st = status(resource, missing ? 'Missing' : 'Drifted', health, diff, adoption ? 'adopted: its file says what is declared (kept as it is)' : `adopt: rewrite (differs: ${diff.map((d) => d.field).join(', ')})`);
    return { resource, steps, ...(adoption ? { adopt: adoption.adopt } : {}), status: { ...st, adoption: adoption ? 'Adopted' : 'Rewrite' } };
  }
  const plan: ResourcePlan = {
    resource,
    steps,
    status: status(resource, missing ? 'Missing' : 'Drifted', health, diff, suppressed),
  };
  return applyDriftPolicy(plan, cause, resource.drift, ctx.correctReportedDrift);
}

/**
 * Prune of a unit resource no longer declared. A unit file the agent wrote
 * (it carries the marker): stop and disable first, then delete and reload on a
 * later pass. Drop-ins it wrote into a unit it does not own: remove them,
 * reload, restart the unit if it runs. A unit it masked: unmask it. A unit
 * file without the marker is never deleted.
 */
export function pruneUnit(id: `unit/${string}`, name: string, current: LiveUnit | undefined, adopted = false): Step[] {
  const base = { resource: id, cause: 'prune' as const };
  if (!current) return [];
  const reload: Step = { type: 'unit.daemon-reload', args: {}, resource: null, cause: 'prune', reason: `${name} deleted` };
  if (Object.keys(markedDropins(current)).length > 0 && !current.content?.startsWith(unitMarker(id))) {
    const steps: Step[] = [{ type: 'unit.write', args: { name, content: null, dropins: {} }, ...base, reason: 'no longer declared: its drop-ins go' }, reload];
    if (runningStates.has(current.activeState)) steps.push({ type: 'unit.restart', args: { name }, ...base, reason: 'drop-ins removed' });
    return steps;
  }
  if (current.content === null) {
    // No file of ours: a unit the agent masked is unmasked; drop-ins left are someone else's (or the agent's own are gone).
    if (isMasked(current.unitFileState) && Object.keys(current.dropins).length === 0) return [{ type: 'unit.unmask', args: { name }, ...base, reason: 'no longer declared masked' }];
    return [];
  } else if (!current.content.startsWith(unitMarker(id)) && !adopted) {
    return []; // not a file the agent wrote or adopted (or its marker was removed by hand): never deleted
  }
  const steps: Step[] = [];
  if (runningStates.has(current.activeState)) steps.push({ type: 'unit.stop', args: { name }, ...base, reason: 'no longer declared' });
  if (current.unitFileState === 'enabled') steps.push({ type: 'unit.disable', args: { name }, ...base, reason: 'no longer declared' });
  if (steps.length > 0) return steps;
  return [{ type: 'unit.delete', args: { name }, ...base, reason: 'no longer declared' }, reload];
}
