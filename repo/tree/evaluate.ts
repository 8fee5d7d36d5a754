// Evaluates one host from its layers, general to specific: merges resources
// (a more specific declaration replaces the general one whole, `absent: true`
// removes it), variables and the default drift policy, substitutes
// variables, and checks what only the merged state can show (references,
// cycles). Pure: no I/O.
import type { ErrorCode } from '../../shared/errors.ts';
import type { DesiredResource, DesiredState, DriftPolicy, ResourceId } from '../../shared/resources.ts';
import { resourceKinds } from '../../shared/resources.ts';
import { evaluateCompose } from '../compose/evaluate-compose.ts';
import { expandContainerSecrets } from './container-secrets.ts';
import { checkDependencies } from './dependencies.ts';
import type { ValidationIssue } from './issues.ts';
import { issue } from './issues.ts';
import type { Layer } from './layer.ts';
import type { Located, ResourceEntry, VarDef } from './layer-file.ts';
import { valueAtPath } from './layer-file.ts';
import type { SubstitutionProblem } from './variables.ts';
import { ExpansionBudget, hasReference, referenceHelp, substitute, substituteString } from './variables.ts';
import { zodIssuesToValidation } from './zod-issues.ts';

export interface HostPlacement {
  host: string;
  /** The leaf directory: the host's own directory, or its place. */
  place: string;
  pathTags: string[];
  crossTags: string[];
  /** General to specific. */
  layers: Layer[];
}

export interface VarView {
  name: string;
  value: string;
  /** `file:line`, or 'built-in'. */
  from: string;
}

export interface Removal {
  id: ResourceId;
  /** Where `absent: true` was written. */
  by: Located;
  /** Where the removed declaration was. */
  declared: Located;
}

export interface Evaluation {
  /** Null when the host has issues (its own or in its layers). */
  state: DesiredState | null;
  /** Issues found by merging; the layers' own issues are in `layer.issues`. */
  issues: ValidationIssue[];
  vars: VarView[];
  removed: Removal[];
}

const kindOrder = (kind: string) => resourceKinds.indexOf(kind as never);
/** Files first, then units, then containers: the safe apply order, and a stable one for output. */
const applyOrder = ['file', 'unit', 'network', 'volume', 'container'];

export function evaluateHost(p: HostPlacement): Evaluation {
  const issues: ValidationIssue[] = [];
  const merged = new Map<ResourceId, { entry: ResourceEntry; layer: Layer }>();
  const removed: Removal[] = [];
  const varDefs = new Map<string, VarDef>();
  let drift: DriftPolicy = 'correct';
  for (const layer of p.layers) {
    for (const entry of layer.entries.values()) {
      if (entry.absent) {
        const gone = merged.get(entry.id);
        if (gone) removed.push({ id: entry.id, by: located(entry), declared: located(gone.entry) });
        merged.delete(entry.id);
      } else {
        merged.set(entry.id, { entry, layer });
      }
    }
    for (const v of layer.vars.values()) varDefs.set(v.name, v);
    if (layer.drift) drift = layer.drift.drift;
  }

  const builtins: Record<string, string> = { host: p.host, place: p.place, tags: [...p.pathTags, ...p.crossTags].join(',') };
  // One budget for the host: its variables and every resource substituted with them.
  const budget = new ExpansionBudget();
  const { values, oversized } = resolveVars(builtins, varDefs, issues, budget);
  const lookup = (name: string) => values.get(name);
  mergeCompose(p, lookup, merged, removed, issues, budget);

  const resources: DesiredResource[] = [];
  let complete = p.layers.every((l) => l.issues.length === 0);
  for (const { entry, layer } of merged.values()) {
    if (entry.invalid) {
      complete = false;
      continue;
    }
    const spec = entry.deferred ? substituteEntry(entry, lookup, oversized, issues, budget) : entry.spec;
    if (spec === undefined) {
      complete = false;
      continue;
    }
    const s = spec as { drift?: DriftPolicy; depends_on?: string[] };
    resources.push({
      id: entry.id,
      kind: entry.kind,
      name: entry.name,
      spec,
      drift: s.drift ?? drift,
      dependsOn: (s.depends_on ?? []) as ResourceId[],
      ...(entry.completes && entry.completes.length > 0 ? { dependsOnCompleted: [...entry.completes] } : {}),
      source: { file: entry.file, line: entry.line, layer: layer.dir },
    } as DesiredResource);
  }
  const entries = new Map([...merged].map(([id, m]) => [id, m.entry]));
  for (const [id, entry] of expandContainerSecrets(resources, entries, issues)) entries.set(id, entry);
  resources.sort((a, b) => applyOrder.indexOf(a.kind) - applyOrder.indexOf(b.kind) || kindOrder(a.kind) - kindOrder(b.kind) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  issues.push(...checkDependencies(resources, entries));

  const vars: VarView[] = [
    ...Object.entries(builtins).map(([name, value]) => ({ name, value, from: 'built-in' })),
    ...[...varDefs.values()]
      .map((v) => ({ name: v.name, value: values.get(v.name) ?? v.value, from: `${v.file}:${v.line}` }))
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
  ];
  const hostLayer = p.layers[p.layers.length - 1];
  const state: DesiredState | null =
    complete && issues.length === 0
      ? {
          host: p.host,
          place: p.place,
          tags: [...p.pathTags, ...p.crossTags],
          vars: Object.fromEntries(vars.map((v) => [v.name, v.value])),
          layers: p.layers.map((l) => l.dir),
          resources,
          allowEmpty: hostLayer?.host?.allowEmpty ?? false,
          ...(hostLayer?.host?.adopt ? { adopt: true } : {}),
        }
      : null;
  return { state, issues, vars, removed };
}

const located = (l: Located): Located => ({ file: l.file, line: l.line, column: l.column });

function firstOverBudget(budget: ExpansionBudget): boolean {
  if (budget.reported) return false;
  budget.reported = true;
  return true;
}

function codeOf(kind: SubstitutionProblem['kind']): ErrorCode {
  return kind === 'unresolved' ? 'UNRESOLVED_VARIABLE' : kind === 'malformed' ? 'INVALID_VALUE' : 'EXPANSION_TOO_LARGE';
}

/** Resolves vars that refer to other vars or facts; a cycle or an unknown name is an issue at the var. */
function resolveVars(
  builtins: Record<string, string>,
  defs: Map<string, VarDef>,
  issues: ValidationIssue[],
  budget: ExpansionBudget,
): { values: Map<string, string>; oversized: Set<string> } {
  const values = new Map<string, string>(Object.entries(builtins));
  const resolving: string[] = [];
  // Variables over a size bound: reported once, at their own line; those using them stay quiet.
  const oversized = new Set<string>();
  const resolve = (name: string): string | undefined => {
    const known = values.get(name);
    if (known !== undefined) return known;
    const def = defs.get(name);
    if (!def || oversized.has(name)) return undefined;
    if (resolving.includes(name)) {
      issues.push(issue(def.file, def, 'UNRESOLVED_VARIABLE', `variables refer to each other in a cycle: ${[...resolving.slice(resolving.indexOf(name)), name].join(' → ')}`));
      return undefined;
    }
    resolving.push(name);
    let tooLarge = false;
    const value = substituteString(
      def.value,
      resolve,
      (kind, text) => {
        // A cycle or an oversized variable is reported once, where it happens; other problems here.
        // A variable using an oversized one is left unresolved too (not expanded from its literal text).
        if (kind === 'unresolved' && oversized.has(text)) tooLarge = true;
        if (kind === 'unresolved' && defs.has(text)) return;
        if (kind === 'too-large' || kind === 'host-total') tooLarge = true;
        if (kind === 'host-total' && !firstOverBudget(budget)) return;
        issues.push(issue(def.file, def, codeOf(kind), `in variable "${name}": ${referenceHelp(kind, text)}`));
      },
      budget,
    );
    resolving.pop();
    if (tooLarge) {
      oversized.add(name);
      return undefined;
    }
    values.set(name, value);
    return value;
  };
  for (const name of defs.keys()) resolve(name);
  return { values, oversized };
}

/** Substitutes a deferred entry and validates the values that held references. */
function substituteEntry(
  entry: ResourceEntry,
  lookup: (name: string) => string | undefined,
  oversized: Set<string>,
  issues: ValidationIssue[],
  budget: ExpansionBudget,
): unknown {
  const problems: SubstitutionProblem[] = [];
  const value = substitute(entry.raw, lookup, problems, [], budget);
  const base = [entry.section.key, entry.name];
  for (const pr of problems) {
    // An oversized variable was reported at its definition; the host total once.
    if (pr.kind === 'unresolved' && oversized.has(pr.text)) continue;
    if (pr.kind === 'host-total' && !firstOverBudget(budget)) continue;
    issues.push(issue(entry.file, entry.source.locate([...base, ...pr.path]), codeOf(pr.kind), `${entry.kind} "${entry.name}": ${referenceHelp(pr.kind, pr.text)}`));
  }
  if (problems.length > 0) return undefined;
  if (entry.opaque) return value;
  const r = entry.section.schema.safeParse(value);
  if (r.success) return r.data;
  // Issues elsewhere were reported once for the file; here only what substitution produced.
  const found = zodIssuesToValidation(r.error.issues, {
    source: entry.source,
    base,
    subject: `${entry.kind} "${entry.name}"`,
    schema: entry.section.schema,
    value,
    skip: (path, code) => !(code === 'INVALID_VALUE' && hasReference(valueAtPath(entry.raw, path))),
  });
  issues.push(...found);
  return undefined;
}

/**
 * Adds the services of the host's Compose files (docs/compose.md). A service
 * and a native resource with the same id is an error (declare it once); a
 * native `absent: true` at or below the service's layer removes it.
 */
function mergeCompose(
  p: HostPlacement,
  lookup: (name: string) => string | undefined,
  merged: Map<ResourceId, { entry: ResourceEntry; layer: Layer }>,
  removed: Removal[],
  issues: ValidationIssue[],
  budget: ExpansionBudget,
): void {
  const compose = evaluateCompose(p.layers, lookup, p.layers[p.layers.length - 1]?.host?.profiles ?? [], budget);
  issues.push(...compose.issues);
  for (const { entry, layerIndex } of compose.entries) {
    const native = merged.get(entry.id);
    if (native) {
      issues.push(issue(entry.file, entry, 'DUPLICATE_RESOURCE', `${entry.kind} "${entry.name}" is declared in ${entry.file}:${entry.line} and in ${native.entry.file}:${native.entry.line}; declare it once`));
      continue;
    }
    const absent = p.layers.slice(layerIndex).map((l) => l.entries.get(entry.id)).find((e) => e?.absent === true);
    if (absent) {
      removed.push({ id: entry.id, by: located(absent), declared: located(entry) });
      continue;
    }
    merged.set(entry.id, { entry, layer: p.layers[layerIndex]! });
  }
  // Compose creates the default network only while a service joins it: when native `absent: true`
  // entries removed every such service, it is not declared either, unless another container still
  // names it (any mention of its name in a container's entry keeps it: the safe side).
  const network = compose.defaultNetwork;
  const declared = network && merged.get(network.id);
  if (!network || !declared || network.users.some((id) => merged.has(id))) return;
  const stillNamed = [...merged.values()].some(({ entry }) => entry.kind === 'container' && JSON.stringify(entry.raw ?? null).includes(declared.entry.name));
  if (!stillNamed) merged.delete(network.id);
}
