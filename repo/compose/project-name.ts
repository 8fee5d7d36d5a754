// The Compose project name of a host's Compose files (docs/compose.md "The
// project and its default network"). Compose takes it from `-p`, else the
// top-level `name:`, else the basename of the first file's directory. gitfleet
// has no `-p`: `name:` (interpolated; the last file that sets it wins, as in
// Compose's merge), else the basename of the directory of the first Compose
// file in merge order (the most general layer that has one). The project names
// only the implicit `default` network (`<project>_default`): containers,
// volumes and declared networks keep their own names.

/**
 * The name for a Compose file at the tree root. Its directory has no name that
 * is the same everywhere (the agent reads a snapshot directory named after the
 * revision; `render` reads wherever the checkout is), so a fixed one is used.
 */
export const ROOT_PROJECT = 'gitfleet';

/** What Compose accepts as an explicit project name (`-p` or `name:`). */
const valid = /^[a-z0-9][a-z0-9_-]*$/;

/** A directory name made into a project name as Compose does: lower case, only [a-z0-9_-], not starting with _ or -. */
export function normalizeProjectName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}

/** The project name, or why there is none (an explicit name Compose would refuse, or a directory name with no usable character). */
export function composeProjectName(explicit: string | undefined, firstFileDir: string): { name: string } | { problem: string } {
  if (explicit !== undefined) {
    if (valid.test(explicit)) return { name: explicit };
    return { problem: `"${explicit}" is not a valid Compose project name: it must contain only a-z, 0-9, _ and - and start with a letter or digit` };
  }
  if (firstFileDir === '') return { name: ROOT_PROJECT };
  const base = firstFileDir.slice(firstFileDir.lastIndexOf('/') + 1);
  const name = normalizeProjectName(base);
  if (name === '') return { problem: `the directory "${firstFileDir}" gives no Compose project name (no letter or digit in "${base}"); set name: in the Compose file` };
  return { name };
}
