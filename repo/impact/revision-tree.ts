// A fleet tree at a Git revision, read without touching the checkout: the
// revision's tree is exported (git archive, piped into tar) into a temporary
// directory. Argument vectors only, never a shell; a revision is resolved to
// a commit first, so an option-like or unknown name is refused as such.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** Tree-relative paths (under the fleet directory) that differ between two commits. */
export async function changedFiles(checkout: FleetCheckout, from: string, to: string): Promise<Set<string>> {
  const out = await git(checkout.top, ['diff', '--name-only', '--no-renames', '-z', from, to, '--', checkout.prefix === '' ? '.' : checkout.prefix]);
  return new Set(out.split('\0').filter((p) => p !== '').map((p) => p.slice(checkout.prefix.length)));
}

/** Exports the fleet directory of `commit` into a new temporary directory; `remove()` deletes it. */
export async function exportTree(checkout: FleetCheckout, commit: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gitfleet-diff-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const treeish = checkout.prefix === '' ? `${commit}^{tree}` : `${commit}:${checkout.prefix.replace(/\/$/, '')}`;
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

function pipeArchive(top: string, treeish: string, into: string): Promise<void> {
  return new Promise((done, fail) => {
    const archive = spawn('git', ['archive', '--format=tar', treeish], { cwd: top, stdio: ['ignore', 'pipe', 'pipe'] });
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
