// Compose's multi-file merge (`docker compose -f base -f override`), applied
// to the Compose files of a host's layers from general to specific, and
// within one directory the base file then its overrides by name. The rules
// follow docker-compose 1.29 (config.merge_service_dicts), which the
// conformance test compares against:
// - maps (environment, labels, extra_hosts, ulimits, healthcheck, deploy,
//   networks, depends_on, logging options…) merge per key, the later file winning;
// - volumes and devices merge by their path in the container;
// - ports, cap_add, cap_drop, configs, secrets, profiles: unique union;
// - env_file, tmpfs: concatenated;
// - everything else (image, command, entrypoint, user…) is replaced.
// Values are normalised first (list forms to maps), so a list in one file and
// a map in the other still merge.
import { volumeTarget } from './volumes.ts';

type Obj = Record<string, unknown>;
const isMap = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `KEY=VALUE` list or map → map (null for a bare KEY). */
export function listToMap(value: unknown, sep = '='): Obj {
  if (isMap(value)) return { ...value };
  const out: Obj = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item !== 'string') continue;
      const at = item.indexOf(sep);
      if (at < 0) out[item] = null;
      else out[item.slice(0, at)] = item.slice(at + 1);
    }
  }
  return out;
}

function namesToMap(value: unknown): Obj {
  if (isMap(value)) return { ...value };
  const out: Obj = {};
  if (Array.isArray(value)) for (const name of value) if (typeof name === 'string') out[name] = null;
  return out;
}

const asList = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** A service with its list-or-map keys as maps, so merging is per key. */
export function normalizeService(svc: Obj): Obj {
  const out: Obj = { ...svc };
  if ('environment' in svc) out.environment = listToMap(svc.environment);
  if ('labels' in svc) out.labels = listToMap(svc.labels);
  if ('extra_hosts' in svc && !isMap(svc.extra_hosts)) out.extra_hosts = listToMap(svc.extra_hosts, ':');
  if ('networks' in svc) out.networks = namesToMap(svc.networks);
  if ('depends_on' in svc) {
    const deps = namesToMap(svc.depends_on);
    for (const k of Object.keys(deps)) if (deps[k] === null) deps[k] = { condition: 'service_started' };
    out.depends_on = deps;
  }
  return out;
}

function mergeMaps(a: unknown, b: unknown): Obj {
  return { ...(isMap(a) ? a : {}), ...(isMap(b) ? b : {}) };
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (!isMap(a) || !isMap(b)) return b;
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out;
}

function unique(a: unknown, b: unknown): unknown[] {
  const out: unknown[] = [];
  const seen = new Set<string>();
  for (const item of [...asList(a), ...asList(b)]) {
    const key = JSON.stringify(item);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(item);
  }
  return out;
}

function byTarget(a: unknown, b: unknown, target: (item: unknown) => string): unknown[] {
  const out = new Map<string, unknown>();
  for (const item of [...asList(a), ...asList(b)]) out.set(target(item), item);
  return [...out.values()];
}

const deviceTarget = (d: unknown): string => {
  if (typeof d !== 'string') return JSON.stringify(d);
  const parts = d.split(':');
  return parts[1] ?? parts[0] ?? d;
};

export function mergeService(base: Obj, override: Obj): Obj {
  const a = normalizeService(base);
  const b = normalizeService(override);
  const out: Obj = { ...a };
  for (const [key, value] of Object.entries(b)) {
    if (!(key in a)) {
      out[key] = value;
      continue;
    }
    switch (key) {
      case 'environment':
      case 'labels':
      case 'extra_hosts':
      case 'ulimits':
      case 'networks':
      case 'depends_on':
        out[key] = mergeMaps(a[key], value);
        break;
      case 'healthcheck':
      case 'deploy':
        out[key] = deepMerge(a[key], value);
        break;
      case 'logging': {
        // A different driver starts from nothing; the same driver merges options.
        const la = isMap(a[key]) ? a[key] : {};
        const lb = isMap(value) ? value : {};
        const sameDriver = lb.driver === undefined || lb.driver === la.driver;
        out[key] = sameDriver ? { ...la, ...lb, options: mergeMaps(la.options, lb.options) } : lb;
        break;
      }
      case 'volumes':
        out[key] = byTarget(a[key], value, volumeTarget);
        break;
      case 'devices':
        out[key] = byTarget(a[key], value, deviceTarget);
        break;
      case 'ports':
      case 'cap_add':
      case 'cap_drop':
      case 'configs':
      case 'secrets':
      case 'profiles':
        out[key] = unique(a[key], value);
        break;
      case 'env_file':
      case 'tmpfs':
        out[key] = [...asList(a[key]), ...asList(value)];
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

/** Merges top-level sections of two documents: services by the rules above, networks/volumes/configs/secrets per key (deep). */
export function mergeDocuments(base: Obj, override: Obj): Obj {
  const out: Obj = { ...base };
  const services: Obj = { ...(isMap(base.services) ? base.services : {}) };
  for (const [name, svc] of Object.entries(isMap(override.services) ? override.services : {})) {
    const prev = services[name];
    services[name] = isMap(prev) && isMap(svc) ? mergeService(prev, svc) : isMap(svc) ? normalizeService(svc) : svc;
  }
  out.services = services;
  for (const section of ['networks', 'volumes', 'configs', 'secrets']) {
    if (override[section] === undefined) continue;
    const merged: Obj = { ...(isMap(base[section]) ? base[section] : {}) };
    for (const [k, v] of Object.entries(isMap(override[section]) ? override[section] : {})) merged[k] = k in merged ? deepMerge(merged[k], v) : v;
    out[section] = merged;
  }
  return out;
}
