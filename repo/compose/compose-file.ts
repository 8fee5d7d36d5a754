// A Compose file in a layer directory (docs/compose.md): recognised by name,
// parsed with positions, and checked for what does not depend on the host:
// every key is either applied or refused with its file and line, never
// silently dropped. Interpolation, merging and mapping happen per host
// (evaluate-compose.ts), because they depend on the host's vars and facts.
import { posix } from 'node:path';
import type { ValidationIssue } from '../tree/issues.ts';
import { issue } from '../tree/issues.ts';
import { didYouMean } from '../tree/nearest.ts';
import type { DataPath, YamlSource } from '../tree/yaml-source.ts';
import { parseYaml } from '../tree/yaml-source.ts';
import type { EnvParse } from './dotenv.ts';

const baseNames = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

/** A Compose file by name: a base file, or an override `compose.NAME.yaml` / `docker-compose.NAME.yaml`. */
export function composeFileRole(name: string): 'base' | 'override' | null {
  if (baseNames.includes(name)) return 'base';
  if (/^(docker-)?compose\.[A-Za-z0-9_.-]+\.ya?ml$/.test(name)) return 'override';
  return null;
}

/** Keys applied (see docs/compose.md for how each maps). */
export const serviceKeys = [
  'image', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'volumes', 'networks', 'network_mode',
  'healthcheck', 'restart', 'labels', 'depends_on', 'deploy', 'cap_add', 'cap_drop', 'devices', 'user',
  'working_dir', 'hostname', 'extra_hosts', 'logging', 'ulimits', 'stop_signal', 'stop_grace_period', 'init',
  'read_only', 'privileged', 'profiles', 'configs', 'secrets', 'container_name', 'tmpfs', 'pull_policy',
];

/** Keys of the Compose spec that gitfleet refuses, each with the reason printed to the user. */
export const refusedServiceKeys: Record<string, string> = {
  build: 'the agent does not build images; build in CI, push, and name the image',
  develop: 'a development-loop feature (watch/sync), not a deployment one',
  extends: 'use layers (a deeper directory) or an override file compose.NAME.yaml instead',
  scale: 'one container per service; declare a second service',
  links: 'legacy; use networks (services reach each other by name on a shared network)',
  external_links: 'legacy; use networks',
  volumes_from: 'name the volumes explicitly',
  ipc: 'not applied by gitfleet',
  pid: 'not applied by gitfleet',
  cgroup_parent: 'not applied by gitfleet',
  security_opt: 'not applied by gitfleet',
  sysctls: 'not applied by gitfleet',
  dns: 'not applied by gitfleet',
  dns_search: 'not applied by gitfleet',
  expose: 'not applied by gitfleet (publish with ports, or reach the port over a shared network)',
  mac_address: 'not applied by gitfleet',
  platform: 'not applied by gitfleet',
};

const deployKeys = ['resources'];
const resourceKeys = ['limits', 'reservations'];
const limitKeys = ['cpus', 'memory', 'pids'];
const reservationKeys = ['memory'];

export const topKeys = ['version', 'name', 'services', 'networks', 'volumes', 'configs', 'secrets'];
export const networkKeys = ['name', 'driver', 'driver_opts', 'internal', 'labels', 'external', 'attachable', 'enable_ipv6'];
export const volumeKeys = ['name', 'driver', 'driver_opts', 'labels', 'external'];
const fileObjectKeys = ['file', 'name'];

export interface ComposeDoc {
  /** Repo-relative path of the Compose file. */
  file: string;
  /** Its directory (relative paths in it are relative to this). */
  dir: string;
  role: 'base' | 'override';
  source: YamlSource;
  /** The parsed document; null when it had issues that make it unusable. */
  value: Record<string, unknown> | null;
  /** The `.env` beside the file, when there is one. */
  dotenv: EnvParse | null;
  /** Side files the document names (env_file, configs/secrets `file:`), repo-relative path → text. */
  sideFiles: Map<string, string>;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkKeys(source: YamlSource, path: DataPath, value: unknown, allowed: string[], issues: ValidationIssue[], what: string, refused: Record<string, string> = {}): void {
  if (!isMap(value)) return;
  for (const key of Object.keys(value)) {
    if (key.startsWith('x-') || allowed.includes(key)) continue;
    const at = source.locate([...path, key], 'key');
    const reason = refused[key];
    if (reason !== undefined) {
      issues.push(issue(source.file, at, 'COMPOSE_UNSUPPORTED', `${what}: "${key}" is not supported: ${reason}`));
    } else {
      issues.push(issue(source.file, at, 'COMPOSE_UNSUPPORTED', `${what}: "${key}" is not a key gitfleet applies${didYouMean(key, allowed)}; it is refused rather than dropped`));
    }
  }
}

/** Parses and checks one Compose file; side files are read by the caller (read-layer) from `sideFilePaths`. */
export function parseComposeFile(file: string, text: string, role: 'base' | 'override'): { doc: ComposeDoc; issues: ValidationIssue[] } {
  const source = parseYaml(file, text, { merge: true });
  const issues = [...source.issues];
  const doc: ComposeDoc = { file, dir: posix.dirname(file) === '.' ? '' : posix.dirname(file), role, source, value: null, dotenv: null, sideFiles: new Map() };
  if (issues.length > 0) return { doc, issues };
  const v = source.value;
  if (!isMap(v)) {
    issues.push(issue(file, source.locate([]), 'INVALID_VALUE', 'a Compose file must be a map with a services key'));
    return { doc, issues };
  }
  checkKeys(source, [], v, topKeys, issues, 'the Compose file');
  if (v.services !== undefined && !isMap(v.services)) issues.push(issue(file, source.locate(['services']), 'INVALID_VALUE', 'services must be a map of service name to service'));
  for (const [name, svc] of Object.entries(isMap(v.services) ? v.services : {})) {
    const at = ['services', name];
    const what = `service "${name}"`;
    if (!isMap(svc)) {
      issues.push(issue(file, source.locate(at), 'INVALID_VALUE', `${what} must be a map`));
      continue;
    }
    checkKeys(source, at, svc, serviceKeys, issues, what, refusedServiceKeys);
    checkKeys(source, [...at, 'deploy'], svc.deploy, deployKeys, issues, `${what} deploy`, { replicas: 'one container per service', placement: 'hosts are chosen by the fleet tree', mode: 'one container per service', update_config: 'the agent applies updates itself', restart_policy: 'use restart' });
    const res = isMap(svc.deploy) ? svc.deploy.resources : undefined;
    checkKeys(source, [...at, 'deploy', 'resources'], res, resourceKeys, issues, `${what} deploy.resources`);
    if (isMap(res)) {
      checkKeys(source, [...at, 'deploy', 'resources', 'limits'], res.limits, limitKeys, issues, `${what} deploy.resources.limits`);
      checkKeys(source, [...at, 'deploy', 'resources', 'reservations'], res.reservations, reservationKeys, issues, `${what} deploy.resources.reservations`, {
        cpus: 'Docker has no CPU reservation for a single container (use limits.cpus)',
        devices: 'device reservations (GPUs) are not applied by gitfleet',
      });
    }
    if (typeof svc.image !== 'string' && svc.image !== undefined) issues.push(issue(file, source.locate([...at, 'image']), 'INVALID_VALUE', `${what}: image must be a string`));
    for (const key of ['env_file'] as const) {
      const list = typeof svc[key] === 'string' ? [svc[key]] : Array.isArray(svc[key]) ? svc[key] : [];
      list.forEach((p: unknown, i) => {
        const path = typeof p === 'string' ? p : isMap(p) && typeof p.path === 'string' ? p.path : undefined;
        if (path === undefined || path.includes('$')) {
          issues.push(issue(file, source.locate([...at, key, ...(typeof svc[key] === 'string' ? [] : [i])]), 'INVALID_VALUE', `${what}: env_file entries must be literal paths relative to the Compose file (no variables)`));
        }
      });
    }
  }
  for (const [section, keys] of [['networks', networkKeys], ['volumes', volumeKeys], ['configs', fileObjectKeys], ['secrets', fileObjectKeys]] as const) {
    const entries = v[section];
    if (entries === undefined || entries === null) continue;
    if (!isMap(entries)) {
      issues.push(issue(file, source.locate([section]), 'INVALID_VALUE', `${section} must be a map`));
      continue;
    }
    for (const [name, def] of Object.entries(entries)) {
      checkKeys(source, [section, name], def, [...keys], issues, `${section.slice(0, -1)} "${name}"`, section === 'configs' || section === 'secrets' ? { environment: 'only file-based configs and secrets are supported', external: 'only file-based configs and secrets are supported', content: 'only file-based configs and secrets are supported' } : {});
      if ((section === 'configs' || section === 'secrets') && !(isMap(def) && typeof def.file === 'string' && !def.file.includes('$'))) {
        issues.push(issue(file, source.locate([section, name]), 'INVALID_VALUE', `${section.slice(0, -1)} "${name}" needs file: a literal path relative to the Compose file`));
      }
    }
  }
  if (issues.length === 0) doc.value = v;
  return { doc, issues };
}

/** Repo-relative paths of the side files `doc` names (env_file, configs/secrets files), for the reader. */
export function sideFilePaths(doc: ComposeDoc): { path: string; optional: boolean }[] {
  const v = doc.value;
  if (!v) return [];
  const out: { path: string; optional: boolean }[] = [];
  const rel = (p: string) => posix.normalize(posix.join(doc.dir, p));
  for (const svc of Object.values(isMap(v.services) ? v.services : {})) {
    if (!isMap(svc)) continue;
    const list: unknown[] = typeof svc.env_file === 'string' ? [svc.env_file] : Array.isArray(svc.env_file) ? svc.env_file : [];
    for (const p of list) {
      if (typeof p === 'string') out.push({ path: rel(p), optional: false });
      else if (isMap(p) && typeof p.path === 'string') out.push({ path: rel(p.path), optional: p.required === false });
    }
  }
  for (const section of ['configs', 'secrets']) {
    for (const def of Object.values(isMap(v[section]) ? v[section] : {})) {
      if (isMap(def) && typeof def.file === 'string') out.push({ path: rel(def.file), optional: false });
    }
  }
  return out;
}
