// Conformance: for every Compose corpus case in test/fixtures/compose, the
// services `gitfleet render --host h1 --json` produces are the services
// Debian's docker-compose 1.29 `config` normalizes the same files to, field by
// field (image, command, entrypoint, environment after env_file and
// interpolation, ports, volumes, networks with aliases, healthcheck, restart,
// labels, depends_on, resources and the runtime keys). Both sides are brought
// to one canonical form here; the mapping of paths and names that gitfleet
// makes on purpose (relative binds → /var/lib/gitfleet/compose, volume and
// network keys → their Docker names) is applied to docker-compose's side.
// What docker-compose 1.29 adds only when it creates containers, which its
// `config` does not print, is added to its side as `up` applies it
// (compose/network.py, compose/service.py): a service without networks or
// network_mode joins `default`, named `<project>_default` (the corpus files
// are at the tree root: gitfleet's project `gitfleet`, as with `-p gitfleet`),
// and the service name is an alias on every network it joins.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { requireComponent } from '../harness/require.ts';
import { composeMissing } from '../harness/docker.ts';

const run = promisify(execFile);
const corpus = resolve('test/fixtures/compose');
const HOST_DIR = '/var/lib/gitfleet/compose';
const PROJECT = 'gitfleet';

type Obj = Record<string, unknown>;
const isMap = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The Compose files of a case in `-f` order: the base file, then overrides by name. */
function composeFiles(dir: string): string[] {
  const names = readdirSync(dir).filter((n) => /^(docker-)?compose(\.[A-Za-z0-9_.-]+)?\.ya?ml$/.test(n));
  const base = names.filter((n) => /^(docker-)?compose\.ya?ml$/.test(n));
  const overrides = names.filter((n) => !base.includes(n)).sort();
  return [...base, ...overrides];
}

const words = (v: unknown): string[] | undefined => {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map(String);
  return String(v).split(/\s+/).filter((w) => w !== '');
};

function portKey(p: unknown): string {
  if (typeof p === 'number') return `${p}/tcp`;
  if (typeof p === 'string') {
    const proto = p.includes('/') ? '' : '/tcp';
    return `${p}${proto}`;
  }
  const m = p as Obj;
  const ip = typeof m.host_ip === 'string' ? `${m.host_ip}:` : '';
  const pub = m.published === undefined ? '' : `${String(m.published)}:`;
  return `${ip}${pub}${String(m.target)}/${typeof m.protocol === 'string' ? m.protocol : 'tcp'}`;
}

/** One canonical service from docker-compose config output. */
function fromCompose(svcName: string, svc: Obj, top: Obj, caseDir: string): Obj {
  const volName = (k: string) => {
    const def = isMap(top.volumes) ? top.volumes[k] : undefined;
    return isMap(def) && typeof def.name === 'string' ? def.name : k;
  };
  const netName = (k: string) => {
    const def = isMap(top.networks) ? top.networks[k] : undefined;
    return isMap(def) && typeof def.name === 'string' ? def.name : k === 'default' ? `${PROJECT}_default` : k;
  };
  const bind = (src: string) => (src.startsWith(caseDir) ? `${HOST_DIR}${src.slice(caseDir.length)}` : src);
  const out: Obj = {};
  const copy = ['image', 'restart', 'user', 'working_dir', 'hostname', 'init', 'read_only', 'privileged', 'stop_signal', 'stop_grace_period', 'cap_add', 'cap_drop', 'ulimits', 'logging'];
  for (const k of copy) if (svc[k] !== undefined) out[k] = svc[k];
  out.command = words(svc.command);
  out.entrypoint = words(svc.entrypoint);
  if (isMap(svc.environment)) out.environment = Object.fromEntries(Object.entries(svc.environment).map(([k, v]) => [k, String(v).replaceAll('$$', '$')]));
  if (Array.isArray(svc.ports)) out.ports = svc.ports.map(portKey).sort();
  const vols: string[] = [];
  const tmpfs: string[] = typeof svc.tmpfs === 'string' ? [svc.tmpfs] : Array.isArray(svc.tmpfs) ? svc.tmpfs.map(String) : [];
  for (const v of Array.isArray(svc.volumes) ? svc.volumes : []) {
    if (typeof v === 'string') {
      const [src, target, mode] = v.split(':') as [string, string, string | undefined];
      const source = src.startsWith('/') ? bind(src) : volName(src);
      vols.push(`${source}:${target}:${mode ?? 'rw'}`);
    } else if (isMap(v)) {
      if (v.type === 'tmpfs') tmpfs.push(String(v.target));
      else vols.push(`${v.type === 'bind' ? bind(String(v.source)) : volName(String(v.source))}:${String(v.target)}:${v.read_only === true ? 'ro' : 'rw'}`);
    }
  }
  if (vols.length > 0) out.volumes = vols.sort();
  if (tmpfs.length > 0) out.tmpfs = tmpfs.sort();
  const networks = svc.network_mode === undefined ? (isMap(svc.networks) ? svc.networks : Array.isArray(svc.networks) ? Object.fromEntries(svc.networks.map((n) => [String(n), null])) : { default: null }) : undefined;
  if (networks !== undefined) {
    out.networks = Object.fromEntries(Object.entries(networks).map(([k, v]) => [netName(k), [...new Set([svcName, ...(isMap(v) && Array.isArray(v.aliases) ? v.aliases.map(String) : [])])].sort()]));
  }
  if (isMap(svc.healthcheck)) out.healthcheck = canonicalHealth(svc.healthcheck);
  if (isMap(svc.labels)) out.labels = svc.labels;
  if (isMap(svc.depends_on)) out.depends_on = Object.keys(svc.depends_on).sort();
  if (isMap(svc.extra_hosts)) out.extra_hosts = Object.entries(svc.extra_hosts).map(([h, ip]) => `${h}:${String(ip)}`).sort();
  else if (Array.isArray(svc.extra_hosts)) out.extra_hosts = svc.extra_hosts.map(String).sort();
  const res = isMap(svc.deploy) && isMap(svc.deploy.resources) ? svc.deploy.resources : {};
  if (isMap(res.limits)) {
    if (res.limits.memory !== undefined) out.mem_limit = String(res.limits.memory);
    if (res.limits.cpus !== undefined) out.cpus = Number(res.limits.cpus);
  }
  if (isMap(res.reservations) && res.reservations.memory !== undefined) out.mem_reservation = String(res.reservations.memory);
  return prune(out);
}

function canonicalHealth(h: Obj): Obj {
  if (h.disable === true || (Array.isArray(h.test) && h.test[0] === 'NONE')) return { disable: true };
  const test = typeof h.test === 'string' ? ['CMD-SHELL', h.test] : (h.test as unknown[]).map(String);
  return prune({ test, interval: h.interval, timeout: h.timeout, retries: h.retries, start_period: h.start_period });
}

/** One canonical service from gitfleet's rendered container spec. */
function fromGitfleet(spec: Obj): Obj {
  const out: Obj = {};
  const copy = ['image', 'restart', 'user', 'working_dir', 'hostname', 'init', 'read_only', 'privileged', 'stop_signal', 'stop_grace_period', 'cap_add', 'cap_drop', 'ulimits', 'logging', 'labels', 'mem_limit', 'mem_reservation'];
  for (const k of copy) if (spec[k] !== undefined) out[k] = spec[k];
  out.command = words(spec.command);
  out.entrypoint = words(spec.entrypoint);
  if (isMap(spec.environment)) out.environment = Object.fromEntries(Object.entries(spec.environment).map(([k, v]) => [k, String(v)]));
  if (Array.isArray(spec.ports)) out.ports = spec.ports.map(portKey).sort();
  if (Array.isArray(spec.volumes)) out.volumes = spec.volumes.map((v: string) => (v.split(':').length === 2 ? `${v}:rw` : v)).sort();
  if (spec.tmpfs !== undefined) out.tmpfs = (Array.isArray(spec.tmpfs) ? spec.tmpfs : [spec.tmpfs]).map(String).sort();
  if (isMap(spec.networks)) out.networks = Object.fromEntries(Object.entries(spec.networks).map(([k, v]) => [k, isMap(v) && Array.isArray(v.aliases) ? v.aliases.map(String).sort() : []]));
  if (isMap(spec.healthcheck)) out.healthcheck = canonicalHealth(spec.healthcheck);
  if (Array.isArray(spec.depends_on)) {
    const deps = spec.depends_on.map(String).filter((d) => d.startsWith('container/')).map((d) => d.slice('container/'.length)).sort();
    if (deps.length > 0) out.depends_on = deps;
  }
  if (Array.isArray(spec.extra_hosts)) out.extra_hosts = spec.extra_hosts.map(String).sort();
  if (spec.cpus !== undefined) out.cpus = Number(spec.cpus);
  return prune(out);
}

function prune(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const cases = readdirSync(corpus, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

test('the corpus has the cases the conformance claim is about', () => {
  assert.ok(cases.length >= 5, `only ${cases.length} cases in ${corpus}`);
});

for (const name of cases) {
  test(`compose conformance: ${name}`, async (t) => {
    if (!requireComponent(t, 'docker-compose', await composeMissing())) return;
    const dir = join(corpus, name);
    const hostYaml = join(dir, 'h1', 'host.yaml');
    const hostDoc = existsSync(hostYaml) ? (parse(readFileSync(hostYaml, 'utf8')) as Obj | null) : null;
    const vars = isMap(hostDoc?.vars) ? Object.fromEntries(Object.entries(hostDoc.vars).map(([k, v]) => [k, String(v)])) : {};
    const profiles = Array.isArray(hostDoc?.profiles) ? hostDoc.profiles.map(String) : [];
    const files = composeFiles(dir);
    const args = [...files.flatMap((f) => ['-f', join(dir, f)]), ...profiles.flatMap((p) => ['--profile', p]), 'config'];
    // Only PATH and the host's vars: the shell environment must not leak into interpolation.
    const composeOut = await run('docker-compose', args, { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...vars } });
    const composed = parse(composeOut.stdout) as Obj;
    const rendered = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'render', '--host', 'h1', '--json', dir]);
    const state = JSON.parse(rendered.stdout) as { resources: { kind: string; name: string; spec: Obj }[] };
    const services = isMap(composed.services) ? composed.services : {};
    // docker-compose config lists services outside the selected profiles too; they do not run.
    const running = Object.entries(services).filter(([, s]) => {
      const p = isMap(s) && Array.isArray(s.profiles) ? s.profiles.map(String) : [];
      return p.length === 0 || p.some((x) => profiles.includes(x));
    });
    const ours = new Map(state.resources.filter((r) => r.kind === 'container').map((r) => [r.name, r.spec]));
    assert.deepEqual([...ours.keys()].sort(), running.map(([n, s]) => (isMap(s) && typeof s.container_name === 'string' ? s.container_name : n)).sort());
    for (const [svcName, svc] of running) {
      const spec = ours.get(isMap(svc) && typeof svc.container_name === 'string' ? svc.container_name : svcName)!;
      assert.deepEqual(fromGitfleet(spec), fromCompose(svcName, svc as Obj, composed, dir), `service ${svcName} of ${name}`);
    }
  });
}
