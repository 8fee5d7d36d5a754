// A fleet tree at a Git revision, read without touching the checkout: the
// revision's tree is exported (git archive, piped into tar) into a temporary
// directory. Argument vectors only, never a shell; a revision is resolved to
// a commit first, so an option-like or unknown name is refused as such.
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { GitfleetError } from '../../shared/errors.ts';

const run = promisify(execFile);
const GIT_TIMEOUT_MS = 120_000;

export interface FleetCheckout {
  /** The repository's top level. */
  top: string;
  /** The fleet tree's directory inside the repository ('' = the top level), with a trailing '/'. */
  prefix: string;
}

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, timeout: GIT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } });
  return stdout;
}

/** Null when `dir` is not inside a Git work tree. */
export async function locateCheckout(dir: string): Promise<FleetCheckout | null> {
  try {
    const [top, prefix] = (await git(dir, ['rev-parse', '--show-toplevel', '--show-prefix'])).split('\n');
    return top ? { top, prefix: prefix ?? '' } : null;
  } catch {
    return null;
  }
}

/** The full commit id of `rev`, or null when it names no commit. */
export async function resolveCommit(checkout: FleetCheckout, rev: string): Promise<string | null> {
  if (rev === '' || rev.startsWith('-')) return null;
  try {
    return (await git(checkout.top, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`])).trim() || null;
  } catch {
    return null;
  }
}

/** A path of the fleet tree that differs between two commits: git's A(dded), M(odified), D(eleted), T(ype changed). */
export interface TreeChange {
  status: string;
  /** Relative to the fleet directory. */
  path: string;
}

/** What differs between two commits under the fleet directory. */
export async function treeChanges(checkout: FleetCheckout, from: string, to: string): Promise<TreeChange[]> {
  const out = await git(checkout.top, ['diff', '--name-status', '--no-renames', '-z', from, to, '--', checkout.prefix === '' ? '.' : checkout.prefix]);
  const fields = out.split('\0');
  const changes: TreeChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) changes.push({ status: fields[i]!, path: fields[i + 1]!.slice(checkout.prefix.length) });
  return changes;
}

/**
 * Exports go to memory (/dev/shm) when the machine has it: a 10,000-host tree
 * is tens of thousands of small files, written and deleted in a moment there.
 */
function scratchBase(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

function treeishOf(checkout: FleetCheckout, commit: string): string {
  return checkout.prefix === '' ? `${commit}^{tree}` : `${commit}:${checkout.prefix.replace(/\/$/, '')}`;
}

/** Exports the fleet directory of `commit` into a new temporary directory; `remove()` deletes it. */
export async function exportTree(checkout: FleetCheckout, commit: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(scratchBase(), 'gitfleet-diff-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const treeish = treeishOf(checkout, commit);
    // The directory may not exist at that revision: say so rather than let archive fail obscurely.
    const kind = await git(checkout.top, ['cat-file', '-t', treeish]).then((t) => t.trim(), () => '');
    if (kind !== 'tree') throw new GitfleetError('GIT_NOT_FOUND', `the fleet directory ${checkout.prefix || './'} does not exist at ${commit.slice(0, 12)}`);
    await pipeArchive(checkout.top, treeish, dir);
    return { dir, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** Past this many changed paths a fresh export is simpler than patching one. */
const MAX_PATCHED_PATHS = 2000;

/**
 * Turns `dir`, an export of the commit whose changes to `commit` are `changes`,
 * into an export of `commit`: only the changed paths are removed and written
 * (directories left empty go too, as Git has none). Falls back to a whole
 * export for a big change or a path it will not touch.
 */
export async function advanceTree(checkout: FleetCheckout, dir: string, commit: string, changes: readonly TreeChange[]): Promise<void> {
  const treeish = treeishOf(checkout, commit);
  const kind = await git(checkout.top, ['cat-file', '-t', treeish]).then((t) => t.trim(), () => '');
  if (kind !== 'tree') throw new GitfleetError('GIT_NOT_FOUND', `the fleet directory ${checkout.prefix || './'} does not exist at ${commit.slice(0, 12)}`);
  const unsafe = changes.some((c) => c.path === '' || c.path.startsWith('/') || c.path.split('/').some((p) => p === '..' || p === '.' || p === ''));
  if (changes.length > MAX_PATCHED_PATHS || unsafe) {
    for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
    await pipeArchive(checkout.top, treeish, dir);
    return;
  }
  // In path order: a symlink replaced by a directory goes before anything is written below it.
  for (const c of changes) await rm(join(dir, c.path), { recursive: true, force: true });
  for (const c of changes.filter((x) => x.status.startsWith('D'))) await removeEmptyParents(dir, c.path);
  const written = changes.filter((c) => !c.status.startsWith('D')).map((c) => c.path);
  if (written.length > 0) await pipeArchive(checkout.top, treeish, dir, written);
}

async function removeEmptyParents(root: string, path: string): Promise<void> {
  for (let parent = dirname(path); parent !== '.' && parent !== ''; parent = dirname(parent)) {
    try {
      await rmdir(join(root, parent));
    } catch {
      return; // not empty (or already gone): its parents are not empty either
    }
  }
}

function pipeArchive(top: string, treeish: string, into: string, paths: readonly string[] = []): Promise<void> {
  return new Promise((done, fail) => {
    const archive = spawn('git', ['archive', '--format=tar', treeish, ...(paths.length > 0 ? ['--', ...paths] : [])], { cwd: top, stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '--no-same-owner', '--no-same-permissions', '-C', into], { stdio: ['pipe', 'ignore', 'pipe'] });
    let errors = '';
    archive.stderr.on('data', (d: Buffer) => (errors += d.toString()));
    tar.stderr.on('data', (d: Buffer) => (errors += d.toString()));
    archive.stdout.pipe(tar.stdin);
    const timer = setTimeout(() => {
      archive.kill('SIGKILL');
      tar.kill('SIGKILL');
    }, GIT_TIMEOUT_MS);
    let pending = 2;
    let failed = false;
    const finish = (what: string) => (code: number | null) => {
      if (code !== 0 && !failed) {
        failed = true;
        clearTimeout(timer);
        fail(new GitfleetError('GIT_NOT_FOUND', `cannot export ${treeish.slice(0, 12)}: ${what} failed: ${errors.trim().split('\n')[0] ?? ''}`));
      }
      if (--pending === 0 && !failed) {
        clearTimeout(timer);
        done();
      }
    };
    archive.on('error', fail);
    tar.on('error', fail);
    archive.on('close', finish('git archive'));
    tar.on('close', finish('tar'));
  });
}
