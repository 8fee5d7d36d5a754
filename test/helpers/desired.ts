// Builders for desired states and live observations in engine tests.
import type { ContainerResource, ContainerSpec, DesiredState, DriftPolicy, FileResource, FileSpec, ResourceId, UnitResource, UnitSpec } from '../../shared/resources.ts';
import type { LiveContainer, LiveFile, LiveUnit } from '../../agent/drivers/types.ts';
import type { Inventory, LiveState, PlanContext } from '../../agent/engine/model.ts';

const source = { file: 'test.yaml', line: 1, layer: '' };

export function container(name: string, spec: Partial<ContainerSpec> = {}, drift: DriftPolicy = 'correct', dependsOn: ResourceId[] = []): ContainerResource {
  return { id: `container/${name}`, kind: 'container', name, spec: { image: 'local/busybox:1', ...spec }, drift, dependsOn, source };
}

export function unit(name: string, spec: Partial<UnitSpec> = {}, drift: DriftPolicy = 'correct', dependsOn: ResourceId[] = []): UnitResource {
  return { id: `unit/${name}`, kind: 'unit', name, spec: { content: '[Service]\nExecStart=/bin/sleep infinity\n', ...spec }, drift, dependsOn, source };
}

export function file(path: string, spec: Partial<FileSpec> = {}, drift: DriftPolicy = 'correct'): FileResource {
  return { id: `file/${path}`, kind: 'file', name: path, spec: { content: 'x\n', ...spec }, drift, dependsOn: [], source };
}

export function desired(resources: DesiredState['resources'], extra: Partial<DesiredState> = {}): DesiredState {
  return { host: 'h1', place: 'h1', tags: [], vars: {}, layers: [''], resources, allowEmpty: false, ...extra };
}

export function live(parts: { containers?: LiveContainer[]; units?: LiveUnit[]; files?: LiveFile[]; unavailable?: LiveState['unavailable'] } = {}): LiveState {
  return {
    containers: new Map((parts.containers ?? []).map((c) => [c.name, c])),
    units: new Map((parts.units ?? []).map((u) => [u.name, u])),
    files: new Map((parts.files ?? []).map((f) => [f.path, f])),
    unavailable: parts.unavailable ?? {},
  };
}

export function liveContainer(name: string, labels: Record<string, string>, extra: Partial<LiveContainer> = {}): LiveContainer {
  return { id: `id-${name}`, name, image: 'local/busybox:1', imageId: 'sha256:1', labels, state: 'running', health: null, exitCode: null, restartCount: 0, startedAt: null, ...extra };
}

export function liveUnit(name: string, content: string | null, extra: Partial<LiveUnit> = {}): LiveUnit {
  return { name, content, dropins: {}, unitFileState: 'enabled', activeState: 'active', subState: 'running', result: 'success', nRestarts: 0, ...extra };
}

export function liveFile(path: string, content: string | null, extra: Partial<LiveFile> = {}): LiveFile {
  return { path, exists: content !== null, content, mode: '0644', owner: 'root', group: 'root', ...extra };
}

export function inventory(entries: { id: ResourceId; hash: string }[] = []): Inventory {
  const resources: Inventory['resources'] = {};
  for (const e of entries) {
    const slash = e.id.indexOf('/');
    resources[e.id] = { kind: e.id.slice(0, slash) as 'container', name: e.id.slice(slash + 1), hash: e.hash, revision: 'r0', appliedAt: '2026-01-01T00:00:00Z' };
  }
  return { version: 1, resources };
}

export const ctx: PlanContext = { revision: 'r1', suppressed: new Map(), defaultStopTimeout: 10 };
