// Which hosts a push concerns: a host is affected when a changed path lies in
// one of its layers — the tree root, a directory on the way down to its own
// (or to its `place`), its own directory, or a cross-cutting tag directory
// under tags/ that it lists. Paths are tree-relative; null means "cannot tell",
// which affects every host.

export interface HostLayers {
  id: string;
  /** Its host directory, or its place when it has none. */
  dir: string;
  crossTags: readonly string[];
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function within(dir: string, ancestor: string): boolean {
  return ancestor === '' || dir === ancestor || dir.startsWith(ancestor + '/');
}

export function affectedHosts(changed: readonly string[] | null, hosts: readonly HostLayers[]): string[] {
  if (changed === null) return hosts.map((h) => h.id);
  const dirs = new Set(changed.map(dirOf));
  return hosts
    .filter((h) => {
      for (const d of dirs) {
        if (d.startsWith('tags/') || d === 'tags') {
          if (h.crossTags.some((t) => within(d, `tags/${t}`))) return true;
          continue;
        }
        // A file in an ancestor directory of the host's (root included) or inside its own subtree.
        if (within(h.dir, d) || (h.dir !== '' && within(d, h.dir))) return true;
      }
      return false;
    })
    .map((h) => h.id);
}
