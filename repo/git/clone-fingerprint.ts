// What the local clone looks like from outside, without running git: the inode,
// size and modification time of HEAD, config, shallow, the object and ref
// directories and every pack. An idle agent polls every minute; while this is
// unchanged since git last opened the clone and found the head in it, the poll
// runs ls-remote only instead of three gits. Anything that rewrites, truncates,
// removes or replaces those (a fetch, a gc, damage) changes it, and git is asked
// again (git-source.ts).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const watched = ['HEAD', 'config', 'shallow', 'packed-refs', 'objects', 'objects/pack', 'refs'];

/** A string that changes when the clone's files change; null when it cannot be read. */
export function cloneFingerprint(repoDir: string): string | null {
  try {
    const parts: string[] = [];
    const add = (rel: string) => {
      const st = statSync(join(repoDir, rel), { throwIfNoEntry: false });
      parts.push(st ? `${rel}:${st.ino}:${st.size}:${st.mtimeMs}` : `${rel}:-`);
    };
    watched.forEach(add);
    for (const name of readdirSync(join(repoDir, 'objects', 'pack')).sort()) add(`objects/pack/${name}`);
    return parts.join('|');
  } catch {
    return null;
  }
}
