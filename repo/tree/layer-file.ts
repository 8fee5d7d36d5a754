// One file of a layer, parsed and checked on its own: resource entries with
// their positions, variables, layer defaults, and for host.yaml the host's
// settings. Everything that does not depend on the host is checked here, once
// per file; values that hold ${…} are checked per host after substitution.
import type { z } from 'zod';
import type { ErrorCode } from '../../shared/errors.ts';
import type { DriftPolicy, ResourceId, ResourceKind } from '../../shared/resources.ts';
import {
  AbsentEntry,
  ContainerSpec,
  containerNameProblem,
  FileSpec,
  filePathProblem,
  HostFile,
  hostNameProblem,
  ResourceFileTopLevel,
  resourceId,
  UnitSpec,
  unitNameProblem,
  NetworkSpec,
  VolumeSpec,
} from '../../shared/resources.ts';
import type { Position, ValidationIssue } from './issues.ts';
import { issue } from './issues.ts';
import { hasReference } from './variables.ts';
import type { ComposeDoc } from '../compose/compose-file.ts';
import type { DataPath, YamlSource } from './yaml-source.ts';
import { parseYaml } from './yaml-source.ts';
import { zodIssuesToValidation } from './zod-issues.ts';

export const builtinFacts = ['host', 'place', 'tags'] as const;

export const sections = [
  { key: 'files', kind: 'file', schema: FileSpec, nameProblem: filePathProblem, nameCode: 'INVALID_PATH' },
  { key: 'units', kind: 'unit', schema: UnitSpec, nameProblem: unitNameProblem, nameCode: 'INVALID_NAME' },
  { key: 'containers', kind: 'container', schema: ContainerSpec, nameProblem: containerNameProblem, nameCode: 'INVALID_NAME' },
  // Docker names networks and volumes by the same rule as containers.
  { key: 'networks', kind: 'network', schema: NetworkSpec, nameProblem: containerNameProblem, nameCode: 'INVALID_NAME' },
  { key: 'volumes', kind: 'volume', schema: VolumeSpec, nameProblem: containerNameProblem, nameCode: 'INVALID_NAME' },
] as const satisfies readonly {
  key: string;
  kind: ResourceKind;
  schema: z.ZodType;
  nameProblem: (name: string) => string | null;
  nameCode: ErrorCode;
}[];
export type Section = (typeof sections)[number];

export interface Located extends Position {
  file: string;
}

export interface VarDef extends Located {
  name: string;
  value: string;
}

export interface DriftDefault extends Located {
  drift: DriftPolicy;
}

export interface ResourceEntry extends Located {
  id: ResourceId;
  kind: ResourceKind;
  name: string;
  section: Section;
  absent: boolean;
  /** The entry's value as written. */
  raw: unknown;
  /** Holds ${…}: substituted and validated per host. */
  deferred: boolean;
  /** Failed a host-independent check (already reported). */
  invalid: boolean;
  /** The validated spec when neither deferred nor invalid. */
  spec: unknown;
  source: YamlSource;
  /** From an encrypted file read without its key: values are placeholders, not checked (docs/secrets.md). */
  opaque?: true;
  /** A Compose service's dependencies with `condition: service_completed_successfully` (container ids). */
  completes?: ResourceId[];
}

export interface HostSettings {
  tags: (Located & { name: string })[];
  allowEmpty: boolean;
  /** `adopt: true` (docs/adopt.md). */
  adopt: boolean;
  /** Compose profiles this host runs (services with other profiles are skipped). */
  profiles: string[];
}

export interface LayerFile {
  file: string;
  issues: ValidationIssue[];
  vars: VarDef[];
  drift: DriftDefault | null;
  entries: ResourceEntry[];
  /** Only for host.yaml. */
  host: HostSettings | null;
  /** A *.sops.yaml file: the plaintext of its encrypted values (empty when read without a key). */
  secrets?: string[];
  /** A Compose file (docs/compose.md): evaluated per host by repo/compose. */
  compose?: ComposeDoc;
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function at(source: YamlSource, path: DataPath, which: 'key' | 'value' = 'value'): Located {
  return { file: source.file, ...source.locate(path, which) };
}

export function parseLayerFile(file: string, text: string, kind: 'resources' | 'host', opaque = false): LayerFile {
  const source = parseYaml(file, text);
  const out: LayerFile = { file, issues: [...source.issues], vars: [], drift: null, entries: [], host: kind === 'host' ? { tags: [], allowEmpty: false, adopt: false, profiles: [] } : null };
  if (source.issues.length > 0) return out;
  const value = source.value;
  if (value === null || value === undefined) return out; // an empty file (host.yaml often is)
  if (!isPlainMap(value)) {
    const keys = kind === 'host' ? 'tags, vars, defaults, allowEmpty, adopt, profiles' : 'vars, defaults, containers, units, files, networks, volumes';
    out.issues.push(issue(file, source.locate([]), 'INVALID_VALUE', `the file must be a map with the keys ${keys}, not ${Array.isArray(value) ? 'a list' : 'a single value'}`));
    return out;
  }
  const schema = kind === 'host' ? HostFile : ResourceFileTopLevel;
  const top = schema.safeParse(value);
  if (!top.success) {
    out.issues.push(...zodIssuesToValidation(top.error.issues, { source, base: [], subject: '', schema, value }));
  }
  readVars(source, value.vars, out);
  readDefaults(source, value.defaults, out);
  if (kind === 'host') {
    readHostSettings(source, value, out);
    return out;
  }
  for (const section of sections) {
    const entries = value[section.key];
    if (!isPlainMap(entries)) continue; // reported by the top-level schema
    for (const [name, raw] of Object.entries(entries)) readEntry(source, section, name, raw, out, opaque);
  }
  return out;
}

function readVars(source: YamlSource, vars: unknown, out: LayerFile): void {
  if (!isPlainMap(vars)) return;
  for (const [name, v] of Object.entries(vars)) {
    if ((builtinFacts as readonly string[]).includes(name)) {
      out.issues.push(issue(source.file, source.locate(['vars', name], 'key'), 'INVALID_NAME', `"${name}" is a built-in fact (${builtinFacts.join(', ')}) and cannot be set in vars`));
      continue;
    }
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out.vars.push({ name, value: String(v), ...at(source, ['vars', name], 'key') });
    }
  }
}

function readDefaults(source: YamlSource, defaults: unknown, out: LayerFile): void {
  if (!isPlainMap(defaults)) return;
  const drift = defaults.drift;
  if (drift === 'correct' || drift === 'report' || drift === 'ignore') out.drift = { drift, ...at(source, ['defaults', 'drift'], 'key') };
}

function readHostSettings(source: YamlSource, value: Record<string, unknown>, out: LayerFile): void {
  const host = out.host!;
  host.allowEmpty = value.allowEmpty === true;
  host.adopt = value.adopt === true;
  if (Array.isArray(value.profiles)) host.profiles = value.profiles.filter((p): p is string => typeof p === 'string');
  if (!Array.isArray(value.tags)) return;
  const seen = new Set<string>();
  value.tags.forEach((name: unknown, i) => {
    if (typeof name !== 'string') return; // reported by the schema
    const where = at(source, ['tags', i]);
    const problem = hostNameProblem(name);
    if (problem !== null) {
      out.issues.push(issue(source.file, where, 'INVALID_NAME', `tag "${name}" is not a valid tag name: ${problem}`));
    } else if (seen.has(name)) {
      out.issues.push(issue(source.file, where, 'INVALID_VALUE', `tag "${name}" is listed twice`));
    } else {
      seen.add(name);
      host.tags.push({ name, ...where });
    }
  });
}

function readEntry(source: YamlSource, section: Section, name: string, raw: unknown, out: LayerFile, opaque: boolean): void {
  const base = [section.key, name];
  const where = at(source, base, 'key');
  const entry: ResourceEntry = {
    id: resourceId(section.kind, name),
    kind: section.kind,
    name,
    section,
    absent: false,
    raw,
    deferred: false,
    invalid: false,
    spec: undefined,
    source,
    ...where,
  };
  out.entries.push(entry);
  const before = out.issues.length;
  const subject = `${section.kind} "${name}"`;
  const nameProblem = section.nameProblem(name);
  if (nameProblem !== null) {
    const what = section.kind === 'file' ? 'file path' : section.kind === 'unit' ? 'systemd unit name' : `Docker ${section.kind} name`;
    out.issues.push(issue(source.file, where, section.nameCode, `"${name}" is not a valid ${what}: ${nameProblem}`));
  }
  if (isPlainMap(raw) && 'absent' in raw) {
    entry.absent = true;
    const r = AbsentEntry.safeParse(raw);
    if (!r.success) out.issues.push(...zodIssuesToValidation(r.error.issues, { source, base, subject, schema: AbsentEntry, value: raw }));
  } else if (opaque) {
    // Encrypted values read without the key are placeholders: their types cannot be checked here.
    entry.opaque = true;
    entry.deferred = hasReference(raw);
    entry.spec = raw;
  } else {
    entry.deferred = hasReference(raw);
    const r = section.schema.safeParse(raw);
    if (r.success) {
      if (!entry.deferred) entry.spec = r.data;
    } else {
      // Values holding ${…} may be fine once substituted: those are checked per host.
      const skip = entry.deferred ? (path: readonly PropertyKey[], code: ErrorCode) => code === 'INVALID_VALUE' && hasReference(valueAtPath(raw, path)) : undefined;
      out.issues.push(...zodIssuesToValidation(r.error.issues, { source, base, subject, schema: section.schema, value: raw, skip }));
    }
  }
  entry.invalid = out.issues.length > before;
}

export function valueAtPath(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}
