// One read-only snapshot per revision: the whole repository tree at that
// commit, exported with a private index into a temporary directory and then
// renamed into place, so a reader never sees a half-written tree and nothing
// writes to a published one. The engine reads revision R's snapshot while the
// next fetch builds R+1's next to it.
//
// Writing a 10,000-host tree costs tens of thousands of inodes, so a snapshot
// the caller has released (prune) is not deleted but kept as a *spare*: the
// next snapshot is built by updating the spare in place with its own index
// (`read-tree --reset -u`), which writes only the files that differ — the
// cost of an incremental sync follows the size of the change, not of the fleet.
import { mkdir, readFile, readdir, rename, rm, writeFile, realpath, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { GitfleetError } from '../../shared/errors.ts';
import type { GitRunner } from './git-runner.ts';
import type { Snapshot } from './types.ts';

const spareprefix = '.spare-';

interface SnapshotMeta {
  revision: string;
  committedAt: string;
  subject: string;
}

export class SnapshotStore {
  readonly #dir: string;
  readonly #fleetPath: string;

  /** `fleetPath` is normalized, relative, without '..' (checked by the caller). */
  constructor(dir: string, fleetPath: string) {
    this.#dir = dir;
    this.#fleetPath = fleetPath;
  }

  has(revision: string): boolean {
    return existsSync(join(this.#dir, revision, 'meta.json'));
  }

  /** Returns the published snapshot, building it first if needed. */
  async get(revision: string, runner: GitRunner, env: Record<string, string>): Promise<Snapshot> {
    if (!this.has(revision)) await this.#build(revision, runner, env);
    const meta = JSON.parse(await readFile(join(this.#dir, revision, 'meta.json'), 'utf8')) as SnapshotMeta;
    return { revision, treeDir: await this.#treeDir(revision), committedAt: meta.committedAt, subject: meta.subject };
  }

  async #build(revision: string, runner: GitRunner, env: Record<string, string>): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const building = join(this.#dir, `.tmp-${revision}-${randomBytes(4).toString('hex')}`);
    const spare = (await readdir(this.#dir)).find((name) => name.startsWith(spareprefix));
    if (spare !== undefined) await rename(join(this.#dir, spare), building);
    else await mkdir(join(building, 'tree'), { recursive: true });
    try {
      const what = `export of revision ${revision}`;
      const log = await runner.run(['log', '-1', '--no-show-signature', '--format=%cI%x00%s', revision, '--'], { env, what });
      const [committedAt = '', subject = ''] = log.replace(/\n$/, '').split('\0');
      const withIndex = { ...env, GIT_INDEX_FILE: join(building, 'index'), GIT_WORK_TREE: join(building, 'tree') };
      try {
        await runner.run(['read-tree', '--reset', '-u', revision], { env: withIndex, what });
      } catch (error) {
        if (spare === undefined) throw error;
        // A spare that cannot be updated is rebuilt from nothing.
        await rm(building, { recursive: true, force: true });
        await mkdir(join(building, 'tree'), { recursive: true });
        await runner.run(['read-tree', '--reset', '-u', revision], { env: withIndex, what });
      }
      const meta: SnapshotMeta = { revision, committedAt, subject };
      await writeFile(join(building, 'meta.json'), `${JSON.stringify(meta)}\n`);
      await rm(join(this.#dir, revision), { recursive: true, force: true });
      await rename(building, join(this.#dir, revision));
    } catch (error) {
      await rm(building, { recursive: true, force: true });
      throw error;
    }
  }

  async #treeDir(revision: string): Promise<string> {
    const root = join(this.#dir, revision, 'tree');
    const dir = this.#fleetPath === '.' ? root : join(root, this.#fleetPath);
    let real: string;
    try {
      real = await realpath(dir);
      if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new GitfleetError('GIT_NOT_FOUND', `path "${this.#fleetPath}" is not a directory in revision ${revision}`);
    }
    const realRoot = await realpath(root);
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new GitfleetError('SYMLINK_ESCAPE', `path "${this.#fleetPath}" leads outside the repository in revision ${revision}`);
    }
    return real;
  }

  /**
   * Releases every snapshot not named in `keep`: one becomes the spare for the
   * next build, the rest (and leftover temporary directories) are deleted.
   */
  async prune(keep: ReadonlySet<string>): Promise<string[]> {
    if (!existsSync(this.#dir)) return [];
    const removed: string[] = [];
    const names = await readdir(this.#dir);
    let spares = names.filter((n) => n.startsWith(spareprefix)).length;
    for (const name of names) {
      if (keep.has(name) || name.startsWith(spareprefix)) continue;
      const path = join(this.#dir, name);
      if (spares === 0 && !name.startsWith('.') && existsSync(join(path, 'index'))) {
        await rm(join(path, 'meta.json'), { force: true });
        await rename(path, join(this.#dir, `${spareprefix}${randomBytes(4).toString('hex')}`));
        spares++;
      } else {
        await rm(path, { recursive: true, force: true });
      }
      removed.push(name);
    }
    return removed;
  }
}
