// The containers of one engine as layer documents: plain `docker run`
// containers in the repo's own keys (with the networks and volumes they use),
// and containers of Compose projects (labels com.docker.compose.project /
// .service) as one compose.yaml that keeps the projects' networks and
// volumes under their Docker names, so nothing is renamed or recreated.
import { COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL, type EngineFacts, type NetworkFacts, type VolumeFacts } from './docker-facts.ts';
import { escapeCompose, escapeNative } from './escape-values.ts';
import { splitEnv, type SecretItem } from './secrets-split.ts';
import { stripDefaults, type AdoptedSpec, type StrippedContainer } from './strip-defaults.ts';

type Doc = Record<string, unknown>;

export interface ContainerLayers {
  /** containers.yaml: containers, networks, volumes in the repo's keys; null when there is none. */
  native: Doc | null;
  /** compose.yaml; null when no container came from a Compose project. */
  compose: Doc | null;
  secrets: SecretItem[];
  notes: string[];
}

const generatedLabel = /^(com\.docker\.compose\.|io\.gitfleet\.)/;

function ownLabels(labels: Record<string, string> | null | undefined): Record<string, string> | undefined {
  const out = Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => !generatedLabel.test(k)));
  return Object.keys(out).length > 0 ? out : undefined;
}

function nonEmpty(map: Record<string, string> | null | undefined): Record<string, string> | undefined {
  return map && Object.keys(map).length > 0 ? { ...map } : undefined;
}

function networkDef(n: NetworkFacts | undefined): Doc {
  if (!n) return {};
  const out: Doc = {};
  if (n.Driver && n.Driver !== 'bridge') out.driver = n.Driver;
  const opts = nonEmpty(n.Options);
  if (opts) out.driver_opts = opts;
  if (n.Internal) out.internal = true;
  if (n.Attachable) out.attachable = true;
  if (n.EnableIPv6) out.enable_ipv6 = true;
  const labels = ownLabels(n.Labels);
  if (labels) out.labels = labels;
  return out;
}

function volumeDef(v: VolumeFacts | undefined): Doc {
  if (!v) return {};
  const out: Doc = {};
  if (v.Driver && v.Driver !== 'local') out.driver = v.Driver;
  const opts = nonEmpty(v.Options);
  if (opts) out.driver_opts = opts;
  const labels = ownLabels(v.Labels);
  if (labels) out.labels = labels;
  return out;
}

/** A stripped spec in Compose's service keys (docs/compose.md "What maps to what"). */
function composeService(c: StrippedContainer, spec: AdoptedSpec, notes: string[]): Doc {
  const { env, network, mem_limit, mem_reservation, pids_limit, cpus, state, ...same } = spec;
  const svc: Doc = { image: same.image, container_name: c.name };
  for (const [k, v] of Object.entries(same)) if (k !== 'image') svc[k] = v;
  if (env && Object.keys(env).length > 0) svc.environment = env;
  if (network !== undefined) svc.network_mode = network;
  const limits: Doc = {};
  if (mem_limit !== undefined) limits.memory = mem_limit;
  if (cpus !== undefined) limits.cpus = cpus;
  if (pids_limit !== undefined) limits.pids = pids_limit;
  const resources: Doc = {};
  if (Object.keys(limits).length > 0) resources.limits = limits;
  if (mem_reservation !== undefined) resources.reservations = { memory: mem_reservation };
  if (Object.keys(resources).length > 0) svc.deploy = { resources };
  if (state === 'stopped') notes.push(`container ${c.name} is stopped; a Compose service has no stopped state, so the agent would start it (declare it in containers.yaml with state: stopped to keep it stopped)`);
  return svc;
}

/** Compose v2's depends_on label: "db:service_healthy:false,cache:service_started:false". */
function composeDependsOn(label: string | undefined, services: Set<string>): Doc | undefined {
  if (!label) return undefined;
  const out: Doc = {};
  for (const part of label.split(',')) {
    const [name, condition] = part.split(':');
    if (name && services.has(name)) out[name] = { condition: condition || 'service_started' };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function containerLayers(engine: EngineFacts, encrypt: boolean, taken: Set<string>): ContainerLayers {
  const notes: string[] = [];
  const secrets: SecretItem[] = [];
  const containers: Doc = {};
  const nativeNetworks: Doc = {};
  const nativeVolumes: Doc = {};
  const services: Doc = {};
  const composeNetworks: Doc = {};
  const composeVolumes: Doc = {};
  const composeNames = new Map<string, Set<string>>();

  const stripped = engine.containers.map((c) => ({ c, s: stripDefaults(c, engine.defaultLogDriver) }));
  for (const { c } of stripped) {
    const project = c.facts.Config.Labels?.[COMPOSE_PROJECT_LABEL];
    const service = c.facts.Config.Labels?.[COMPOSE_SERVICE_LABEL];
    if (project && service) (composeNames.get(project) ?? composeNames.set(project, new Set()).get(project)!).add(service);
  }
  // A service name can repeat across projects; the container name never does, so it is the key then.
  const serviceCount = new Map<string, number>();
  for (const names of composeNames.values()) for (const n of names) serviceCount.set(n, (serviceCount.get(n) ?? 0) + 1);

  for (const { c, s } of stripped) {
    for (const note of s.notes) notes.push(`container ${s.name}: ${note}`);
    const labels = c.facts.Config.Labels ?? {};
    const project = labels[COMPOSE_PROJECT_LABEL];
    const service = labels[COMPOSE_SERVICE_LABEL];
    const resource = `container/${s.name}`;
    const { plain, secrets: found } = splitEnv(resource, s.spec.env, s.name, taken);
    secrets.push(...found);
    const spec: AdoptedSpec = { ...s.spec };
    if (Object.keys(plain).length > 0) spec.env = plain;
    else delete spec.env;
    if (project && service) {
      const key = (serviceCount.get(service) ?? 0) > 1 ? s.name : service;
      const svc = escapeCompose(composeService(s, spec, notes));
      if (encrypt && found.length > 0) svc.environment = { ...(svc.environment as Doc | undefined), ...Object.fromEntries(found.map((f) => [f.key, `\${${f.variable}}`])) };
      const dependsOn = composeDependsOn(labels['com.docker.compose.depends_on'], composeNames.get(project) ?? new Set());
      if (dependsOn) svc.depends_on = dependsOn;
      services[key] = svc;
      for (const n of s.networks) composeNetworks[n] = escapeCompose(networkDef(engine.networks.get(n)));
      for (const v of s.volumes) composeVolumes[v] = escapeCompose(volumeDef(engine.volumes.get(v)));
      continue;
    }
    const entry = escapeNative(spec) as unknown as Doc;
    if (encrypt && found.length > 0) entry.env = { ...(entry.env as Doc | undefined), ...Object.fromEntries(found.map((f) => [f.key, `\${${f.variable}}`])) };
    const deps = [...s.networks.map((n) => `network/${n}`), ...s.volumes.map((v) => `volume/${v}`)];
    if (deps.length > 0) entry.depends_on = deps;
    containers[s.name] = entry;
    for (const n of s.networks) nativeNetworks[n] = escapeNative(networkDef(engine.networks.get(n)));
    for (const v of s.volumes) nativeVolumes[v] = escapeNative(volumeDef(engine.volumes.get(v)));
  }
  // One declaration per network/volume: a Compose project's wins, the native entry only refers to it.
  for (const n of Object.keys(nativeNetworks)) if (n in composeNetworks) delete nativeNetworks[n];
  for (const v of Object.keys(nativeVolumes)) if (v in composeVolumes) delete nativeVolumes[v];

  let native: Doc | null = null;
  if (Object.keys(containers).length > 0) {
    native = {};
    if (Object.keys(nativeNetworks).length > 0) native.networks = nativeNetworks;
    if (Object.keys(nativeVolumes).length > 0) native.volumes = nativeVolumes;
    native.containers = containers;
  }
  let compose: Doc | null = null;
  if (Object.keys(services).length > 0) {
    compose = { services };
    if (Object.keys(composeNetworks).length > 0) compose.networks = composeNetworks;
    if (Object.keys(composeVolumes).length > 0) compose.volumes = composeVolumes;
  }
  return { native, compose, secrets, notes };
}
