// Compose's short volume syntax → Binds (bind mounts and named volumes) and
// Volumes (anonymous volumes).
//   "/srv/data:/data"  "/srv/data:/data:ro"  "cache:/var/cache"  "/scratch"
// A relative bind source ("./data") is refused: Compose resolves it against the
// compose file's directory, and a fleet repository has no such place on the host.
import { invalid } from './quantities.ts';

export interface VolumeConfig {
  binds: string[];
  anonymous: Record<string, Record<string, never>>;
}

const modeOptions = new Set([
  'ro', 'rw', 'z', 'Z', 'nocopy', 'consistent', 'cached', 'delegated',
  'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave',
]);
const volumeName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function translateVolumes(volumes: string[]): VolumeConfig {
  const config: VolumeConfig = { binds: [], anonymous: {} };
  const targets = new Set<string>();
  for (const entry of volumes) {
    const bad = (why: string) => invalid('volumes', entry, `a volume like "/host:/container[:ro]", "name:/container" or "/container" (${why})`);
    const parts = entry.split(':');
    if (parts.length > 3 || parts.some((p) => p === '')) throw bad('wrong number of parts');
    const [first, second, mode] = parts as [string, string | undefined, string | undefined];
    const target = second ?? first;
    if (!target.startsWith('/')) throw bad(`the target ${target} is not an absolute path`);
    if (target === '/') throw bad('the target cannot be /');
    if (targets.has(target)) throw bad(`${target} is mounted twice`);
    targets.add(target);
    if (second === undefined) {
      config.anonymous[target] = {};
      continue;
    }
    if (first.startsWith('.') || first.startsWith('~')) throw bad('a relative bind source has no base directory on a host; use an absolute path');
    if (!first.startsWith('/') && !volumeName.test(first)) throw bad(`${first} is neither an absolute path nor a volume name`);
    if (mode !== undefined) {
      const options = mode.split(',');
      const unknown = options.filter((o) => !modeOptions.has(o));
      if (unknown.length > 0) throw bad(`unknown mode ${unknown.join(',')}`);
      if (options.includes('ro') && options.includes('rw')) throw bad('both ro and rw');
    }
    config.binds.push(entry);
  }
  return config;
}
