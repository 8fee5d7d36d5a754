// One merged, interpolated Compose service → a native container spec (the
// keys of shared/resources.ts ContainerSpec), plus the file resources its
// configs and secrets need. Problems name the service key they come from.
import { posix } from 'node:path';
import { parseEnvFile } from './dotenv.ts';
import { COMPOSE_HOST_DIR, mapVolumes } from './volumes.ts';

type Obj = Record<string, unknown>;
const isMap = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

export interface ServiceContext {
  name: string;
  /** Directory of the Compose file that declared the service last (relative paths). */
  dir: string;
  /** Docker name of a declared top-level network / volume key (and of the implicit `default` network); undefined when not declared. */
  networkName(key: string): string | undefined;
  volumeName(key: string): string | undefined;
  /** A declared config or secret: its file's repo-relative path and text. */
  fileObject(section: 'configs' | 'secrets', key: string): { path: string; text: string } | undefined;
  /** env_file texts by repo-relative path. */
  sideFile(path: string): string | undefined;
}

export interface MappedFile {
  path: string;
  content: string;
  mode: string;
}

export interface MappedService {
  containerName: string;
  spec: Obj;
  files: MappedFile[];
  /** Compose dependencies: service name → condition. */
  dependsOn: Record<string, string>;
  problems: { key: (string | number)[]; message: string }[];
}

const pullPolicies: Record<string, string> = { always: 'always', missing: 'missing', if_not_present: 'missing', never: 'never' };

function portString(p: unknown): string | number | undefined {
  if (typeof p === 'string' || typeof p === 'number') return p;
  if (!isMap(p) || p.target === undefined) return undefined;
  const proto = typeof p.protocol === 'string' && p.protocol !== 'tcp' ? `/${p.protocol}` : '';
  const published = p.published === undefined || p.published === null ? '' : String(p.published);
  const ip = typeof p.host_ip === 'string' ? `${p.host_ip}:` : '';
  if (published === '') return ip === '' ? `${String(p.target)}${proto}` : `${ip}:${String(p.target)}${proto}`;
  return `${ip}${published}:${String(p.target)}${proto}`;
}

export function mapService(svc: Obj, ctx: ServiceContext): MappedService {
  const out: MappedService = { containerName: typeof svc.container_name === 'string' ? svc.container_name : ctx.name, spec: {}, files: [], dependsOn: {}, problems: [] };
  const spec = out.spec;
  const problem = (key: (string | number)[], message: string) => out.problems.push({ key, message });
  const copy = ['image', 'command', 'entrypoint', 'restart', 'user', 'working_dir', 'hostname', 'cap_add', 'cap_drop', 'devices', 'ulimits', 'stop_signal', 'stop_grace_period', 'init', 'read_only', 'privileged', 'logging', 'network_mode', 'healthcheck'];
  for (const key of copy) if (svc[key] !== undefined && svc[key] !== null) spec[key] = svc[key];
  if (spec.image === undefined) problem([], 'image is required (gitfleet does not build images)');
  if (spec.restart === false) spec.restart = 'no'; // YAML 1.1 habits: restart: no
  // `disable: true` needs no test in Compose; the native schema wants one: NONE is what the engine stores.
  if (isMap(svc.healthcheck) && svc.healthcheck.disable === true) spec.healthcheck = { test: ['NONE'], disable: true };

  const env: Obj = {};
  for (const p of asList(svc.env_file)) {
    const rel = typeof p === 'string' ? p : isMap(p) && typeof p.path === 'string' ? p.path : undefined;
    if (rel === undefined) continue;
    const path = posix.normalize(posix.join(ctx.dir, rel));
    const text = ctx.sideFile(path);
    if (text === undefined) continue; // optional and missing, or reported when read
    const parsed = parseEnvFile(text);
    for (const pr of parsed.problems) problem(['env_file'], `${path}:${pr.line}: ${pr.message}`);
    for (const e of parsed.entries) {
      if (e.value === undefined) problem(['env_file'], `${path}:${e.line}: "${e.key}" has no value (Compose would take it from the shell; the agent has none)`);
      else env[e.key] = e.value;
    }
  }
  if (isMap(svc.environment)) {
    for (const [k, v] of Object.entries(svc.environment)) {
      if (v === null || v === undefined) problem(['environment', k], `"${k}" has no value (Compose would take it from the shell; the agent has none: give it a value or a \${var})`);
      else env[k] = v;
    }
  }
  if (Object.keys(env).length > 0) spec.environment = env;

  if (svc.ports !== undefined) {
    spec.ports = asList(svc.ports).map((p, i) => {
      const s = portString(p);
      if (s === undefined) problem(['ports', i], 'a port is "[IP:]PUBLISHED:TARGET[/PROTO]" or a map with target, published, host_ip, protocol');
      return s;
    });
  }

  const vols = mapVolumes(asList(svc.volumes), ctx.dir, ctx.volumeName);
  for (const pr of vols.problems) problem(['volumes', pr.index], pr.message);
  const tmpfs = [...asList(svc.tmpfs).filter((t): t is string => typeof t === 'string'), ...vols.tmpfs];
  const binds = [...vols.volumes];

  for (const section of ['configs', 'secrets'] as const) {
    asList(svc[section]).forEach((ref, i) => {
      const key = typeof ref === 'string' ? ref : isMap(ref) && typeof ref.source === 'string' ? ref.source : undefined;
      const obj = key === undefined ? undefined : ctx.fileObject(section, key);
      if (key === undefined || obj === undefined) {
        problem([section, i], `${section.slice(0, -1)} "${key ?? '?'}" is not declared in the top-level ${section} of the Compose files`);
        return;
      }
      const explicit = isMap(ref) && typeof ref.target === 'string' ? ref.target : undefined;
      const target = section === 'secrets' ? (explicit?.startsWith('/') ? explicit : `/run/secrets/${explicit ?? key}`) : (explicit ?? `/${key}`);
      const hostPath = `${COMPOSE_HOST_DIR}/${section}/${out.containerName}/${key}`;
      const mode = isMap(ref) && typeof ref.mode === 'number' ? `0${ref.mode.toString(8)}` : '0444';
      out.files.push({ path: hostPath, content: obj.text, mode });
      binds.push(`${hostPath}:${target}:ro`);
    });
  }
  if (binds.length > 0) spec.volumes = binds;
  if (tmpfs.length > 0) spec.tmpfs = tmpfs;

  if (isMap(svc.networks)) {
    const nets: Record<string, { aliases: string[] }> = {};
    for (const [key, opts] of Object.entries(svc.networks)) {
      const name = ctx.networkName(key);
      if (name === undefined) {
        problem(['networks', key], `network "${key}" is not declared in the top-level networks of the Compose files`);
        continue;
      }
      // Compose makes the service name an alias on every network it joins: neighbours reach `db` whatever its container_name.
      const aliases = [ctx.name, ...(isMap(opts) && Array.isArray(opts.aliases) ? opts.aliases.map(String) : [])];
      nets[name] = { aliases: [...new Set(aliases)] };
    }
    if (Object.keys(nets).length > 0) spec.networks = nets;
  }
  if (isMap(svc.labels)) {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(svc.labels)) labels[k] = v === null ? '' : String(v as string);
    spec.labels = labels;
  }
  if (isMap(svc.extra_hosts)) spec.extra_hosts = Object.entries(svc.extra_hosts).map(([h, ip]) => `${h}:${String(ip as string)}`);
  const res = isMap(svc.deploy) && isMap(svc.deploy.resources) ? svc.deploy.resources : {};
  if (isMap(res.limits)) {
    if (res.limits.memory !== undefined) spec.mem_limit = res.limits.memory;
    if (res.limits.cpus !== undefined) spec.cpus = res.limits.cpus;
    if (res.limits.pids !== undefined) spec.pids_limit = res.limits.pids;
  }
  if (isMap(res.reservations) && res.reservations.memory !== undefined) spec.mem_reservation = res.reservations.memory;
  if (typeof svc.pull_policy === 'string') {
    const pull = pullPolicies[svc.pull_policy];
    if (pull === undefined) problem(['pull_policy'], `pull_policy "${svc.pull_policy}" is not supported (always, missing, if_not_present or never)`);
    else spec.pull = pull;
  }
  if (isMap(svc.depends_on)) {
    for (const [dep, opts] of Object.entries(svc.depends_on)) {
      const condition = isMap(opts) && typeof opts.condition === 'string' ? opts.condition : 'service_started';
      if (!['service_started', 'service_healthy', 'service_completed_successfully'].includes(condition)) {
        problem(['depends_on', dep], `condition "${condition}" is not one of service_started, service_healthy, service_completed_successfully`);
      }
      out.dependsOn[dep] = condition;
    }
  }
  return out;
}
