// What the configured `ref` names and how to find it on the remote. A full
// commit id needs no lookup (it cannot move); a name is looked up with
// ls-remote, limited to refs/heads/ and refs/tags/ so that servers with
// thousands of other refs (GitHub's refs/pull/*) cost no more than a few KB.
import { GitfleetError } from '../../shared/errors.ts';

export type RefSpec =
  | { kind: 'commit'; revision: string }
  | { kind: 'name'; name: string; lsRemoteArgs: string[] };

const commitId = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
// git check-ref-format rules that matter here; a leading '-' would be read as an option.
const badRefChars = /[\0-\x20\x7f~^:?*[\\]|\.\.|@\{|\/\/|^[-/.]|[/.]$|\.lock$/;

export function parseRef(ref: string): RefSpec {
  const value = ref.trim();
  if (value === '') throw new GitfleetError('CONFIG_INVALID', 'ref: is empty; give a branch, a tag or a full commit id');
  if (commitId.test(value.toLowerCase())) return { kind: 'commit', revision: value.toLowerCase() };
  if (value === 'HEAD') return { kind: 'name', name: 'HEAD', lsRemoteArgs: [] };
  if (badRefChars.test(value)) throw new GitfleetError('CONFIG_INVALID', `ref: "${value}" is not a valid branch, tag or commit id`);
  if (value.startsWith('refs/heads/')) return { kind: 'name', name: value, lsRemoteArgs: ['--heads'] };
  if (value.startsWith('refs/tags/')) return { kind: 'name', name: value, lsRemoteArgs: ['--tags'] };
  if (value.startsWith('refs/')) return { kind: 'name', name: value, lsRemoteArgs: [] };
  return { kind: 'name', name: value, lsRemoteArgs: ['--heads', '--tags'] };
}

export interface ResolvedRef {
  /** The full remote ref name to fetch. */
  remoteRef: string;
  /** The commit it points to (annotated tags peeled). */
  revision: string;
}

/** Picks the ref out of `git ls-remote` output. */
export function resolveRef(lsRemote: string, name: string, display: string): ResolvedRef {
  const refs = new Map<string, string>();
  for (const line of lsRemote.split('\n')) {
    const [sha, refName] = line.trim().split('\t');
    if (sha && refName) refs.set(refName, sha);
  }
  const pick = (full: string): ResolvedRef | undefined => {
    const direct = refs.get(full);
    if (direct === undefined) return undefined;
    return { remoteRef: full, revision: refs.get(`${full}^{}`) ?? direct };
  };
  if (name === 'HEAD' || name.startsWith('refs/')) {
    const found = pick(name);
    if (found) return found;
  } else {
    const branch = pick(`refs/heads/${name}`);
    const tag = pick(`refs/tags/${name}`);
    if (branch && tag) {
      throw new GitfleetError('CONFIG_INVALID', `ref: "${name}" is both a branch and a tag on ${display}; write refs/heads/${name} or refs/tags/${name}`);
    }
    if (branch ?? tag) return (branch ?? tag)!;
  }
  throw new GitfleetError('GIT_NOT_FOUND', `ref "${name}" does not exist on ${display} (deleted, or never pushed)`);
}
