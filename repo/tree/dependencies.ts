// depends_on and notify must name resources of the same host, and depends_on
// must leave an order to apply them in (no cycle).
import type { DesiredResource, ResourceId } from '../../shared/resources.ts';
import type { ValidationIssue } from './issues.ts';
import { issue } from './issues.ts';
import type { ResourceEntry } from './layer-file.ts';
import { didYouMean } from './nearest.ts';

function refsOf(resource: DesiredResource): { key: 'depends_on' | 'notify'; refs: string[] }[] {
  const out: { key: 'depends_on' | 'notify'; refs: string[] }[] = [{ key: 'depends_on', refs: resource.spec.depends_on ?? [] }];
  if (resource.kind === 'file') out.push({ key: 'notify', refs: resource.spec.notify ?? [] });
  return out;
}

/** `entries` holds every declared resource of the host, including ones that failed validation (so they do not also show up as unknown). */
export function checkDependencies(resources: DesiredResource[], entries: Map<ResourceId, ResourceEntry>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const ids = new Set<string>(entries.keys());
  const locate = (id: ResourceId, path: (string | number)[]) => {
    const e = entries.get(id)!;
    return { file: e.file, at: e.source.locate([e.section.key, e.name, ...path]) };
  };
  for (const r of resources) {
    for (const { key, refs } of refsOf(r)) {
      refs.forEach((ref, i) => {
        if (ids.has(ref)) return;
        const { file, at } = locate(r.id, [key, i]);
        const verb = key === 'notify' ? 'notifies' : 'depends on';
        issues.push(issue(file, at, 'UNKNOWN_DEPENDENCY', `${r.kind} "${r.name}" ${verb} ${ref}, which this host does not declare${didYouMean(ref, ids)}`));
      });
    }
  }
  issues.push(...findCycles(resources, locate));
  return issues;
}

function findCycles(
  resources: DesiredResource[],
  locate: (id: ResourceId, path: (string | number)[]) => { file: string; at: { line: number; column: number } },
): ValidationIssue[] {
  const byId = new Map(resources.map((r) => [r.id as string, r]));
  const state = new Map<string, 'open' | 'done'>();
  const issues: ValidationIssue[] = [];
  const stack: string[] = [];
  const visit = (id: string): void => {
    state.set(id, 'open');
    stack.push(id);
    for (const next of byId.get(id)!.dependsOn) {
      if (!byId.has(next)) continue;
      const s = state.get(next);
      if (s === 'open') {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        const from = byId.get(id)!;
        const { file, at } = locate(from.id, ['depends_on', from.dependsOn.indexOf(next)]);
        issues.push(issue(file, at, 'DEPENDENCY_CYCLE', `depends_on forms a cycle: ${cycle.join(' → ')}`));
      } else if (s === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const r of resources) if (!state.has(r.id)) visit(r.id);
  return issues;
}
