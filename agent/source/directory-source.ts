// A plain directory as the source, for trying gitfleet without a Git server
// (`gitfleet plan --repo examples/fleet`). Its revision is a hash of the tree's
// content; each revision is copied into the state directory so the agent can
// still enforce or roll back to it after the directory changes.
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { GitfleetError } from '../../shared/errors.ts';
import type { DesiredSource, Snapshot } from './desired-source.ts';

const MAX_FILES = 200_000;

async function treeHash(root: string): Promise<string> {
  const hash = createHash('sha256');
  let count = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const path = join(dir, entry.name);
      if (++count > MAX_FILES) throw new GitfleetError('FILE_TOO_LARGE', `${root} holds more than ${MAX_FILES} files`);
      if (entry.isDirectory()) {
        hash.update(`d:${relative(root, path)}\n`);
        await walk(path);
      } else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) {
        hash.update(`f:${relative(root, path)}\n`);
        hash.update(await readFile(path));
      }
    }
  };
  await walk(root);
  return `dir-${hash.digest('hex').slice(0, 32)}`;
}

export class DirectorySource implements DesiredSource {
  private readonly root: string;
  readonly description: string;

  constructor(
    directory: string,
    private readonly treePath: string,
    private readonly snapshotDir: string,
  ) {
    this.root = resolve(directory);
    this.description = `directory ${this.root}`;
  }

  async sync(): Promise<Snapshot> {
    const tree = resolve(this.root, this.treePath);
    try {
      if (!(await stat(tree)).isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw new GitfleetError('GIT_NOT_FOUND', `the fleet tree ${tree} does not exist or is not a directory`, { cause: error });
    }
    const revision = await treeHash(tree);
    const target = join(this.snapshotDir, revision);
    const exists = await stat(target).then(() => true, () => false);
    if (!exists) {
      await mkdir(this.snapshotDir, { recursive: true });
      await cp(tree, `${target}.tmp`, { recursive: true, filter: (src) => !src.includes('/.git') });
      await rm(target, { recursive: true, force: true });
      await rename(`${target}.tmp`, target);
    }
    return { revision, treeDir: target, committedAt: new Date().toISOString(), subject: `local directory ${this.root}` };
  }

  async snapshot(revision: string): Promise<Snapshot> {
    const target = join(this.snapshotDir, revision);
    if (!(await stat(target).then((s) => s.isDirectory(), () => false))) {
      throw new GitfleetError('GIT_NOT_FOUND', `no snapshot of revision ${revision} in ${this.snapshotDir}`);
    }
    return { revision, treeDir: target, committedAt: new Date(0).toISOString(), subject: 'snapshot' };
  }

  async prune(keep: string[]): Promise<void> {
    const names = await readdir(this.snapshotDir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => !keep.includes(n)).map((n) => rm(join(this.snapshotDir, n), { recursive: true, force: true })));
  }
}
