// The Compose files of one host's layers → resource entries, per host:
// each file is interpolated with its own lookup (the host's facts, then its
// vars, then the `.env` beside the file: the first that has the name wins, as
// the shell environment wins over `.env` in Compose), relative paths are
// resolved against the file's directory, the files are merged general to
// specific with Compose's rules, services outside the host's profiles are
// dropped, and each service becomes a container entry (its configs and
// secrets file entries). As in Compose, a service without `networks` or
// `network_mode` joins the project's `default` network (`<project>_default`,
// project-name.ts), created only when a service uses it. The entries then go
// through the same validation, dependency and apply machinery as native ones.
import { posix } from 'node:path';
import type { FileSpec, ResourceId } from '../../shared/resources.ts';
import { ContainerSpec, FileSpec as FileSchema, NetworkSpec, VolumeSpec, containerNameProblem, resourceId } from '../../shared/resources.ts';
import type { ValidationIssue } from '../tree/issues.ts';
import { issue } from '../tree/issues.ts';
import type { Layer } from '../tree/layer.ts';
import type { ResourceEntry } from '../tree/layer-file.ts';
import { sections } from '../tree/layer-file.ts';
import type { DataPath, YamlSource } from '../tree/yaml-source.ts';
import { ExpansionBudget } from '../tree/variables.ts';
import { zodIssuesToValidation } from '../tree/zod-issues.ts';
import type { ComposeDoc } from './compose-file.ts';
import type { InterpolationProblem } from './interpolate.ts';
import { interpolate } from './interpolate.ts';
import { listToMap, mergeDocuments, normalizeService } from './merge.ts';
import { composeProjectName, ROOT_PROJECT } from './project-name.ts';
import { mapService } from './to-container.ts';
import { resolveBindSources } from './volumes.ts';

type Obj = Record<string, unknown>;
const isMap = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

const fileSection = sections.find((s) => s.kind === 'file')!;
const containerSection = sections.find((s) => s.kind === 'container')!;
const networkSection = sections.find((s) => s.kind === 'network')!;
const volumeSection = sections.find((s) => s.kind === 'volume')!;

/** Where a native key of a mapped service was written in Compose terms (for positions). */
const composeKeyOf: Record<string, DataPath> = {
  mem_limit: ['deploy', 'resources', 'limits', 'memory'],
  cpus: ['deploy', 'resources', 'limits', 'cpus'],
  pids_limit: ['deploy', 'resources', 'limits', 'pids'],
  mem_reservation: ['deploy', 'resources', 'reservations', 'memory'],
  pull: ['pull_policy'],
};

export interface ComposeEvaluation {
  /** Per resource id: the entry and the index of the layer it belongs to (its last Compose file's layer). */
  entries: { entry: ResourceEntry; layerIndex: number }[];
  issues: ValidationIssue[];
  /**
   * The project's `default` network and the containers of the services that
   * join it: like Compose, it exists only while one of them does (the tree
   * drops it when a native `absent: true` removed them all).
   */
  defaultNetwork?: { id: ResourceId; users: ResourceId[] };
}

interface Origin {
  doc: ComposeDoc;
  layerIndex: number;
}

export function evaluateCompose(layers: Layer[], lookup: (name: string) => string | undefined, profiles: readonly string[], budget: ExpansionBudget = new ExpansionBudget()): ComposeEvaluation {
  const issues: ValidationIssue[] = [];
  const out: ComposeEvaluation = { entries: [], issues };
  let merged: Obj = {};
  const origin = new Map<string, Origin>();
  const sectionOrigin = new Map<string, Origin>();
  let any = false;
  // The project: named by the first file's directory unless a file sets `name:` (the last one that does wins).
  let firstDoc: Origin | undefined;
  let explicitName: { name: string; doc: ComposeDoc } | undefined;
  layers.forEach((layer, layerIndex) => {
    for (const doc of layer.compose ?? []) {
      if (doc.value === null) continue;
      any = true;
      firstDoc ??= { doc, layerIndex };
      const dotenv = new Map((doc.dotenv?.entries ?? []).map((e) => [e.key, e.value ?? '']));
      const docLookup = (name: string) => lookup(name) ?? dotenv.get(name);
      const problems: InterpolationProblem[] = [];
      const value = interpolate(doc.value, docLookup, problems, [], budget) as Obj;
      for (const p of problems) {
        issues.push(issue(doc.file, doc.source.locate(p.path), p.kind === 'too-large' ? 'EXPANSION_TOO_LARGE' : p.kind === 'malformed' ? 'INVALID_VALUE' : 'UNRESOLVED_VARIABLE', p.message));
      }
      if (problems.length > 0) continue;
      if (typeof value.name === 'string' || typeof value.name === 'number') explicitName = { name: String(value.name), doc };
      const services: Obj = {};
      for (const [name, svc] of Object.entries(isMap(value.services) ? value.services : {})) {
        if (!isMap(svc)) continue;
        const s = normalizeService(svc);
        s.volumes = resolveBindSources(s.volumes, doc.dir, (i, message) => issues.push(issue(doc.file, doc.source.locate(['services', name, 'volumes', i]), 'INVALID_VALUE', `service "${name}": ${message}`)));
        if (s.volumes === undefined) delete s.volumes;
        if (s.env_file !== undefined) {
          s.env_file = (Array.isArray(s.env_file) ? s.env_file : [s.env_file]).map((p) =>
            typeof p === 'string' ? posix.normalize(posix.join(doc.dir, p)) : isMap(p) && typeof p.path === 'string' ? { ...p, path: posix.normalize(posix.join(doc.dir, p.path)) } : p,
          );
        }
        services[name] = s;
        origin.set(name, { doc, layerIndex });
      }
      const resolved: Obj = { ...value, services };
      for (const section of ['configs', 'secrets']) {
        if (!isMap(value[section])) continue;
        const defs: Obj = {};
        for (const [k, def] of Object.entries(value[section])) {
          defs[k] = isMap(def) && typeof def.file === 'string' ? { ...def, file: posix.normalize(posix.join(doc.dir, def.file)), from: doc.file } : def;
          sectionOrigin.set(`${section}/${k}`, { doc, layerIndex });
        }
        resolved[section] = defs;
      }
      merged = mergeDocuments(merged, resolved);
    }
  });
  if (!any) return out;

  // Services of this host (its profiles); those without networks or network_mode join `default`, as in Compose.
  const selected: [string, Obj][] = [];
  for (const [name, svc] of Object.entries(isMap(merged.services) ? merged.services : {})) {
    if (!isMap(svc)) continue;
    const svcProfiles = Array.isArray(svc.profiles) ? svc.profiles.map(String) : [];
    if (svcProfiles.length > 0 && !svcProfiles.some((p) => profiles.includes(p))) continue;
    const implicit = (svc.network_mode === undefined || svc.network_mode === null) && (!isMap(svc.networks) || Object.keys(svc.networks).length === 0);
    selected.push([name, implicit ? { ...svc, networks: { default: null } } : svc]);
  }
  const joinsDefault = (svc: Obj): boolean => isMap(svc.networks) && 'default' in svc.networks;
  const defaultUser = selected.find(([, svc]) => joinsDefault(svc))?.[0];
  const project = composeProjectName(explicitName?.name, firstDoc!.doc.dir);
  if ('problem' in project && explicitName !== undefined) {
    issues.push(issue(explicitName.doc.file, explicitName.doc.source.locate(['name']), 'INVALID_NAME', project.problem));
  } else if ('problem' in project && defaultUser !== undefined) {
    const { doc } = origin.get(defaultUser)!;
    issues.push(issue(doc.file, doc.source.locate(['services', defaultUser]), 'INVALID_NAME', `service "${defaultUser}" joins the project's default network, but ${project.problem}`));
  }
  // Compose names the default network after the project; an external network without `name:` is the key itself.
  const defaultName = `${'name' in project ? project.name : ROOT_PROJECT}_default`;
  const networkDefs: Obj = { ...(isMap(merged.networks) ? merged.networks : {}) };
  if (defaultUser === undefined) delete networkDefs.default;
  else networkDefs.default ??= {};
  const sectionDefs = { networks: networkDefs, volumes: isMap(merged.volumes) ? merged.volumes : {} };
  const dockerName = (section: 'networks' | 'volumes', key: string, def: unknown): string => {
    const d = isMap(def) ? def : {};
    if (typeof d.name === 'string') return d.name;
    return section === 'networks' && key === 'default' && !(d.external === true || isMap(d.external)) ? defaultName : key;
  };
  const named = (section: 'networks' | 'volumes') => (key: string) => {
    const defs = sectionDefs[section];
    if (!(key in defs)) return undefined;
    return dockerName(section, key, defs[key]);
  };
  const sideText = (path: string): string | undefined => {
    for (const layer of layers) for (const doc of layer.compose ?? []) if (doc.sideFiles.has(path)) return doc.sideFiles.get(path);
    return undefined;
  };
  // Top-level networks and volumes become resources (external ones must exist: not managed).
  const ownedIds = new Map<string, string>();
  for (const section of ['networks', 'volumes'] as const) {
    for (const [key, def] of Object.entries(sectionDefs[section])) {
      const d = isMap(def) ? def : {};
      if (d.external === true || isMap(d.external)) continue;
      const name = dockerName(section, key, d);
      const kind = section === 'networks' ? 'network' : 'volume';
      const spec: Obj = {};
      for (const k of section === 'networks' ? ['driver', 'driver_opts', 'internal', 'attachable', 'enable_ipv6'] : ['driver', 'driver_opts']) if (d[k] !== undefined && d[k] !== null) spec[k] = d[k];
      if (d.labels !== undefined) spec.labels = Object.fromEntries(Object.entries(listToMap(d.labels)).map(([k, v]) => [k, v === null ? '' : String(v as string)]));
      const schema = kind === 'network' ? NetworkSpec : VolumeSpec;
      // An implicit default network belongs to the project's first file (which names it), at a service that joins it.
      const implicitDefault = section === 'networks' && key === 'default' && !(isMap(merged.networks) && 'default' in merged.networks);
      const { doc, layerIndex } = implicitDefault ? firstDoc! : (sectionOrigin.get(`${section}/${key}`) ?? [...origin.values()][0]!);
      const at: DataPath = implicitDefault ? ['services', defaultUser!] : [section, key];
      const r = schema.safeParse(spec);
      const id = resourceId(kind, name);
      const entry = makeEntry(id, kind, name, kind === 'network' ? networkSection : volumeSection, doc, at, spec, r.success ? r.data : undefined, !r.success || containerNameProblem(name) !== null);
      if (!r.success) issues.push(...zodIssuesToValidation(r.error.issues, { source: entry.source, base: [`${section}`, name], subject: `${kind} "${key}"`, schema, value: spec }));
      if (containerNameProblem(name) !== null) issues.push(issue(doc.file, entry, 'INVALID_NAME', `"${name}" is not a valid Docker ${kind} name: ${containerNameProblem(name)}`));
      out.entries.push({ entry, layerIndex });
      ownedIds.set(`${section}/${name}`, id);
      if (section === 'networks' && key === 'default') out.defaultNetwork = { id, users: [] };
    }
  }
  const containerOf = new Map<string, string>();
  const mappedAll = new Map<string, ReturnType<typeof mapService>>();
  for (const [name, svc] of selected) {
    const mapped = mapService(svc, {
      name,
      dir: '',
      networkName: named('networks'),
      volumeName: named('volumes'),
      fileObject: (section, key) => {
        const defs = merged[section];
        const def = isMap(defs) ? defs[key] : undefined;
        if (!isMap(def) || typeof def.file !== 'string') return undefined;
        const text = sideText(def.file);
        return text === undefined ? undefined : { path: def.file, text };
      },
      sideFile: sideText,
    });
    containerOf.set(name, mapped.containerName);
    if (out.defaultNetwork && joinsDefault(svc)) out.defaultNetwork.users.push(resourceId('container', mapped.containerName));
    mappedAll.set(name, mapped);
  }
  for (const [name, mapped] of mappedAll) {
    const { doc, layerIndex } = origin.get(name)!;
    const at = (path: DataPath) => doc.source.locate(['services', name, ...path]);
    for (const p of mapped.problems) issues.push(issue(doc.file, at(p.key), 'INVALID_VALUE', `service "${name}": ${p.message}`));
    const deps: string[] = [];
    const completes: ResourceId[] = [];
    for (const [dep, condition] of Object.entries(mapped.dependsOn)) {
      const target = containerOf.get(dep);
      if (target === undefined) issues.push(issue(doc.file, at(['depends_on', dep]), 'UNKNOWN_DEPENDENCY', `service "${name}" depends on "${dep}", which is not a service of this host (or not in its profiles)`));
      else deps.push(resourceId('container', target));
      if (target !== undefined && condition === 'service_completed_successfully') completes.push(resourceId('container', target));
    }
    const fileIds: string[] = [];
    for (const f of mapped.files) {
      // Mounted as a single file: a new content is a new inode the running container does not see until restarted.
      const spec: FileSpec = { content: f.content, mode: f.mode, notify: [resourceId('container', mapped.containerName)] };
      const id = resourceId('file', f.path);
      fileIds.push(id);
      const parsed = FileSchema.safeParse(spec);
      out.entries.push({ entry: makeEntry(id, 'file', f.path, fileSection, doc, ['services', name], spec, parsed.success ? parsed.data : undefined, !parsed.success), layerIndex });
    }
    const spec: Obj = { ...mapped.spec };
    // The networks and volumes it uses come first (held back until they exist).
    const netIds = Object.keys(isMap(spec.networks) ? spec.networks : {}).flatMap((n) => ownedIds.get(`networks/${n}`) ?? []);
    const volIds = (Array.isArray(spec.volumes) ? (spec.volumes as string[]) : []).flatMap((v) => ownedIds.get(`volumes/${v.split(':')[0]}`) ?? []);
    if (deps.length + fileIds.length + netIds.length + volIds.length > 0) spec.depends_on = [...fileIds, ...netIds, ...volIds, ...deps];
    const nameProblem = containerNameProblem(mapped.containerName);
    if (nameProblem !== null) issues.push(issue(doc.file, at(['container_name']), 'INVALID_NAME', `"${mapped.containerName}" is not a valid Docker container name: ${nameProblem}`));
    const id = resourceId('container', mapped.containerName);
    const r = ContainerSpec.safeParse(spec);
    const entry = makeEntry(id, 'container', mapped.containerName, containerSection, doc, ['services', name], spec, r.success ? r.data : undefined, !r.success || mapped.problems.length > 0 || nameProblem !== null);
    if (completes.length > 0) entry.completes = completes;
    if (!r.success) {
      issues.push(...zodIssuesToValidation(r.error.issues, { source: entry.source, base: ['containers', mapped.containerName], subject: `service "${name}"`, schema: ContainerSpec, value: spec }));
    }
    out.entries.push({ entry, layerIndex });
  }
  return out;
}

/** A source that places native paths (containers.NAME.KEY…) at the service (or network, volume) in the Compose file. */
function serviceSource(doc: ComposeDoc, at: DataPath): YamlSource {
  return {
    file: doc.file,
    value: doc.source.value,
    issues: [],
    locate: (path: DataPath, which?: 'key' | 'value') => {
      const rest = path.slice(2);
      const head = typeof rest[0] === 'string' ? rest[0] : undefined;
      const mapped = head !== undefined && composeKeyOf[head] ? [...composeKeyOf[head], ...rest.slice(1)] : head === 'env' ? ['environment', ...rest.slice(1)] : rest;
      return doc.source.locate([...at, ...mapped], which);
    },
  };
}

function makeEntry(
  id: ResourceEntry['id'],
  kind: 'container' | 'file' | 'network' | 'volume',
  name: string,
  section: ResourceEntry['section'],
  doc: ComposeDoc,
  at: DataPath,
  raw: unknown,
  spec: unknown,
  invalid: boolean,
): ResourceEntry {
  const source = serviceSource(doc, at);
  const pos = doc.source.locate(at, 'key');
  return { id, kind, name, section, absent: false, raw, deferred: false, invalid, spec, source, file: doc.file, ...pos };
}
