// Steps as data: one map from step name to its arguments defines every step.
// The executor table in runner.ts is keyed by the same names, so a step with
// no executor is a compile error. Steps are also what the agent reports.
import type { ContainerSpec, FileSpec, NetworkSpec, ResourceId, VolumeSpec } from '../../shared/resources.ts';

export interface StepArgs {
  'container.pull': { name: string; image: string; policy: 'always' | 'missing' | 'never' };
  'container.create': { name: string; spec: ContainerSpec; labels: Record<string, string>; start: boolean };
  'container.start': { name: string };
  'container.stop': { name: string; timeoutSeconds: number };
  'container.restart': { name: string; timeoutSeconds: number };
  'container.remove': { name: string };
  /** content null: a unit the agent does not own — only its drop-ins are written. */
  'unit.write': { name: string; content: string | null; dropins: Record<string, string> };
  'unit.delete': { name: string };
  'unit.daemon-reload': Record<string, never>;
  'unit.unmask': { name: string };
  'unit.mask': { name: string };
  'unit.enable': { name: string };
  'unit.disable': { name: string };
  'unit.reset-failed': { name: string };
  'unit.start': { name: string };
  'unit.stop': { name: string };
  'unit.restart': { name: string };
  'file.write': { path: string; spec: FileSpec };
  'file.attributes': { path: string; spec: FileSpec };
  'file.remove': { path: string };
  'network.create': { name: string; spec: NetworkSpec; labels: Record<string, string> };
  'network.remove': { name: string };
  'volume.create': { name: string; spec: VolumeSpec; labels: Record<string, string> };
  'volume.remove': { name: string };
}
export type StepType = keyof StepArgs;

/** Why a step exists: a new desired state, a correction of a hand change, or removal of what is no longer wanted. */
export type StepCause = 'intended' | 'drift' | 'prune';

export type Step = {
  [K in StepType]: { type: K; args: StepArgs[K]; resource: ResourceId | null; cause: StepCause; reason: string };
}[StepType];

/**
 * Execution phases, in order: files, then units (writes, one reload, state),
 * then networks and volumes (before the containers that use them), then
 * containers. Pruned networks and volumes go last; the planner prunes them only
 * in a pass that removes no container.
 */
export const stepPhase: Record<StepType, number> = {
  'file.write': 0,
  'file.attributes': 0,
  'file.remove': 0,
  'unit.write': 1,
  'unit.delete': 1,
  'unit.daemon-reload': 2,
  'unit.unmask': 3,
  'unit.mask': 3,
  'unit.enable': 3,
  'unit.disable': 3,
  'unit.reset-failed': 3,
  'unit.start': 4,
  'unit.stop': 4,
  'unit.restart': 4,
  'network.remove': 4.4,
  'network.create': 4.5,
  'volume.create': 4.5,
  'container.pull': 5,
  'container.remove': 6,
  'container.create': 7,
  'container.start': 7,
  'container.stop': 7,
  'container.restart': 7,
  'volume.remove': 8,
};

/** One line for logs, events and the attempt record. */
export function describeStep(step: Step): string {
  const target = step.resource ?? '';
  return `${step.type}${target ? ` ${target}` : ''}: ${step.reason}`;
}
