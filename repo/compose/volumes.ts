// Compose service volumes (short `SRC:TARGET:MODE` and long `{type, source,
// target, read_only}` syntax) → the native `volumes` strings and `tmpfs`.
// Bind mounts relative to the Compose file (`./data`) cannot point into the
// repository on the host (the agent's checkout is not a place for data), so
// they map to COMPOSE_HOST_DIR/<the Compose file's directory>/<path>: one
// documented place per layer directory, the same on every host.
import { posix } from 'node:path';

/** Where relative bind mounts of Compose files live on a host (docs/compose.md). */
export const COMPOSE_HOST_DIR = '/var/lib/gitfleet/compose';

type Obj = Record<string, unknown>;
const isMap = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The path inside the container, which is what Compose merges volumes by. */
export function volumeTarget(v: unknown): string {
  if (isMap(v)) return String(v.target ?? '');
  if (typeof v !== 'string') return JSON.stringify(v);
  const parts = v.split(':');
  if (parts.length === 1) return parts[0]!;
  return parts[1]!;
}

const isPathSource = (s: string) => s.startsWith('.') || s.startsWith('/') || s.startsWith('~');

/** The host path of a bind source written in a Compose file in `composeDir` (tree-relative). */
export function hostBindPath(source: string, composeDir: string): string | { problem: string } {
  if (source.startsWith('/')) return posix.normalize(source);
  if (source.startsWith('~')) return { problem: `"${source}": ~ has no meaning for the agent (it runs as a service); use an absolute path or a path relative to the Compose file` };
  const rel = posix.normalize(posix.join(composeDir, source));
  if (rel === '..' || rel.startsWith('../')) return { problem: `"${source}" leaves the fleet tree; relative bind mounts stay inside it (they map to ${COMPOSE_HOST_DIR}/…)` };
  return rel === '.' ? COMPOSE_HOST_DIR : `${COMPOSE_HOST_DIR}/${rel}`;
}

export interface MappedVolumes {
  volumes: string[];
  tmpfs: string[];
  /** Named volumes the service uses (keys of the top-level `volumes`). */
  named: string[];
  problems: { index: number; message: string }[];
}

/**
 * Maps a service's volumes. `volumeName` gives the Docker name of a declared
 * top-level volume key, or undefined when it is not declared (an error, as in Compose).
 */
export function mapVolumes(list: unknown[], composeDir: string, volumeName: (key: string) => string | undefined): MappedVolumes {
  const out: MappedVolumes = { volumes: [], tmpfs: [], named: [], problems: [] };
  list.forEach((v, index) => {
    let type: string;
    let source: string | undefined;
    let target: string;
    let mode: string | undefined;
    let tmpfsSize: unknown;
    if (typeof v === 'string') {
      const parts = v.split(':');
      if (parts.length === 1) {
        [target] = parts as [string];
        type = 'volume';
      } else {
        [source, target, mode] = parts as [string, string, string | undefined];
        type = isPathSource(source) ? 'bind' : 'volume';
      }
    } else if (isMap(v) && typeof v.target === 'string') {
      type = typeof v.type === 'string' ? v.type : 'volume';
      source = typeof v.source === 'string' ? v.source : undefined;
      target = v.target;
      mode = v.read_only === true ? 'ro' : undefined;
      tmpfsSize = isMap(v.tmpfs) ? v.tmpfs.size : undefined;
      const extra = Object.keys(v).filter((k) => !['type', 'source', 'target', 'read_only', 'bind', 'volume', 'tmpfs', 'consistency'].includes(k));
      if (extra.length > 0) out.problems.push({ index, message: `long-syntax volume key "${extra[0]}" is not applied by gitfleet` });
    } else {
      out.problems.push({ index, message: 'a volume is "SOURCE:TARGET[:MODE]" or a map with type, source, target' });
      return;
    }
    if (type === 'tmpfs') {
      out.tmpfs.push(tmpfsSize === undefined ? target : `${target}:size=${String(tmpfsSize)}`);
      return;
    }
    if (type !== 'bind' && type !== 'volume') {
      out.problems.push({ index, message: `volume type "${type}" is not supported (bind, volume or tmpfs)` });
      return;
    }
    const suffix = mode === undefined ? '' : `:${mode}`;
    if (source === undefined || source === '') {
      out.volumes.push(target); // anonymous volume
      return;
    }
    if (type === 'bind') {
      const host = hostBindPath(source, composeDir);
      if (typeof host !== 'string') out.problems.push({ index, message: host.problem });
      else out.volumes.push(`${host}:${target}${suffix}`);
      return;
    }
    const name = volumeName(source);
    if (name === undefined) {
      out.problems.push({ index, message: `named volume "${source}" is not declared in the top-level volumes of the Compose files` });
      return;
    }
    out.named.push(source);
    out.volumes.push(`${name}:${target}${suffix}`);
  });
  return out;
}

/**
 * Rewrites the relative paths a service wrote in the Compose file in `dir`
 * before files are merged: bind sources to host paths, so a path means the
 * same after an override from another directory replaces or adds volumes.
 */
export function resolveBindSources(volumes: unknown, dir: string, problem: (index: number, message: string) => void): unknown {
  if (!Array.isArray(volumes)) return volumes;
  return volumes.map((v, index) => {
    if (typeof v === 'string') {
      const parts = v.split(':');
      if (parts.length < 2 || !isPathSource(parts[0]!)) return v;
      const host = hostBindPath(parts[0]!, dir);
      if (typeof host !== 'string') {
        problem(index, host.problem);
        return v;
      }
      return [host, ...parts.slice(1)].join(':');
    }
    if (isMap(v) && v.type === 'bind' && typeof v.source === 'string') {
      const host = hostBindPath(v.source, dir);
      if (typeof host !== 'string') {
        problem(index, host.problem);
        return v;
      }
      return { ...v, source: host };
    }
    return v;
  });
}
