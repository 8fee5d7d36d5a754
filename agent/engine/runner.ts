// Applies a pass's steps through the drivers. Files and units run in order
// (they share one daemon-reload); containers run as one chain per resource,
// chains in parallel, so a slow image never holds up the others.
import { GitfleetError, messageOf } from '../../shared/errors.ts';
import type { ResourceId } from '../../shared/resources.ts';
import type { Drivers } from '../drivers/types.ts';
import { stepPhase, type Step, type StepArgs, type StepType } from './steps.ts';

type Executor<K extends StepType> = (args: StepArgs[K], drivers: Drivers) => Promise<void>;

export const executors: { [K in StepType]: Executor<K> } = {
  'container.pull': async (a, d) => {
    await d.containers.ensureImage(a.image, a.policy);
  },
  'container.create': async (a, d) => {
    await d.containers.create(a.name, a.spec, a.labels);
    if (a.start) await d.containers.start(a.name);
  },
  'container.start': (a, d) => d.containers.start(a.name),
  'container.stop': (a, d) => d.containers.stop(a.name, a.timeoutSeconds),
  'container.restart': async (a, d) => {
    await d.containers.stop(a.name, a.timeoutSeconds);
    await d.containers.start(a.name);
  },
  'container.remove': (a, d) => d.containers.remove(a.name),
  'unit.write': (a, d) => d.units.write(a.name, a.content, a.dropins),
  'unit.delete': (a, d) => d.units.delete(a.name),
  'unit.daemon-reload': (_a, d) => d.units.daemonReload(),
  'unit.unmask': (a, d) => d.units.unmask(a.name),
  'unit.mask': (a, d) => d.units.mask(a.name),
  'unit.enable': (a, d) => d.units.enable(a.name),
  'unit.disable': (a, d) => d.units.disable(a.name),
  'unit.reset-failed': (a, d) => d.units.resetFailed(a.name),
  'unit.start': (a, d) => d.units.start(a.name),
  'unit.stop': (a, d) => d.units.stop(a.name),
  'unit.restart': (a, d) => d.units.restart(a.name),
  'file.write': (a, d) => d.files.write(a.path, a.spec),
  'file.attributes': (a, d) => d.files.setAttributes(a.path, a.spec),
  'file.remove': (a, d) => d.files.remove(a.path),
  'network.create': (a, d) => ops(d, 'networks').create(a.name, a.spec, a.labels),
  'network.remove': (a, d) => ops(d, 'networks').remove(a.name),
  'volume.create': (a, d) => ops(d, 'volumes').create(a.name, a.spec, a.labels),
  'volume.remove': (a, d) => ops(d, 'volumes').remove(a.name),
};

function ops<K extends 'networks' | 'volumes'>(d: Drivers, kind: K): NonNullable<Drivers['containers'][K]> {
  const o = d.containers[kind];
  if (!o) throw new GitfleetError('DOCKER_FAILED', `the container driver cannot manage ${kind}`);
  return o;
}

export interface StepResult {
  step: Step;
  ok: boolean;
  error?: GitfleetError;
  /** Not run because an earlier step of the same resource failed. */
  skipped?: boolean;
}

export interface RunHooks {
  /** Called before a step that creates or writes something, so ownership is recorded first (write-ahead). */
  beforeStep?: (step: Step) => Promise<void>;
  afterStep?: (result: StepResult) => void;
}

function asGitfleetError(error: unknown): GitfleetError {
  return error instanceof GitfleetError ? error : new GitfleetError('INTERNAL', messageOf(error), { cause: error });
}

async function runOne(step: Step, drivers: Drivers, hooks: RunHooks): Promise<StepResult> {
  try {
    await hooks.beforeStep?.(step);
    const run = executors[step.type] as Executor<typeof step.type>;
    await run(step.args as never, drivers);
    const result = { step, ok: true };
    hooks.afterStep?.(result);
    return result;
  } catch (error) {
    const result = { step, ok: false, error: asGitfleetError(error) };
    hooks.afterStep?.(result);
    return result;
  }
}

async function runChain(chain: Step[], drivers: Drivers, hooks: RunHooks): Promise<StepResult[]> {
  const results: StepResult[] = [];
  let failed = false;
  for (const step of chain) {
    if (failed) {
      results.push({ step, ok: false, skipped: true });
      continue;
    }
    const result = await runOne(step, drivers, hooks);
    results.push(result);
    failed = !result.ok;
  }
  return results;
}

async function parallel<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}

const CONTAINER_PHASE = stepPhase['container.pull'];

/** Steps that systemctl takes for many units in one call, as `systemctl enable --now a b c` does. */
const batchable = new Set<StepType>(['unit.enable', 'unit.start']);

async function runBatch(batch: Step[], drivers: Drivers, hooks: RunHooks): Promise<StepResult[]> {
  const names = batch.map((s) => (s.args as { name: string }).name);
  try {
    for (const step of batch) await hooks.beforeStep?.(step);
    await (batch[0]!.type === 'unit.enable' ? drivers.units.enable(names) : drivers.units.start(names));
    return batch.map((step) => {
      const result = { step, ok: true };
      hooks.afterStep?.(result);
      return result;
    });
  } catch {
    // One unit spoiled the batch: run them one by one so each failure is its own.
    const results: StepResult[] = [];
    for (const step of batch) results.push(await runOne(step, drivers, hooks));
    return results;
  }
}

/** Runs the steps of one pass; a failed step skips the later steps of its resource only. */
export async function runSteps(steps: Step[], drivers: Drivers, hooks: RunHooks = {}, concurrency = 8): Promise<StepResult[]> {
  const results: StepResult[] = [];
  const failedResources = new Set<ResourceId>();
  const serial = steps.filter((s) => stepPhase[s.type] < CONTAINER_PHASE);
  for (let i = 0; i < serial.length; ) {
    const step = serial[i]!;
    if (step.resource !== null && failedResources.has(step.resource)) {
      results.push({ step, ok: false, skipped: true });
      i++;
      continue;
    }
    let end = i + 1;
    if (batchable.has(step.type)) {
      while (end < serial.length && serial[end]!.type === step.type && !failedResources.has(serial[end]!.resource!)) end++;
    }
    const batchResults = end - i > 1 ? await runBatch(serial.slice(i, end), drivers, hooks) : [await runOne(step, drivers, hooks)];
    for (const result of batchResults) {
      results.push(result);
      if (!result.ok && result.step.resource !== null) failedResources.add(result.step.resource);
    }
    i = end;
  }
  const chains = new Map<string, Step[]>();
  for (const step of steps.filter((s) => stepPhase[s.type] >= CONTAINER_PHASE)) {
    const key = step.resource ?? `${step.type}:${results.length}`;
    chains.set(key, [...(chains.get(key) ?? []), step]);
  }
  const chainResults = await parallel([...chains.values()], concurrency, (chain) => runChain(chain, drivers, hooks));
  return [...results, ...chainResults.flat()];
}
