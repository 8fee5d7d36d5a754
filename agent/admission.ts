// Checks a desired state against what this agent may do before anything is
// applied: file resources only under the configured `files.allow` directories.
import { GitfleetError } from '../shared/errors.ts';
import type { DesiredState } from '../shared/resources.ts';
import { isContainerSecretPath } from '../shared/resources.ts';

export function isUnder(path: string, dir: string): boolean {
  const base = dir.endsWith('/') ? dir : `${dir}/`;
  return path === dir || path.startsWith(base);
}

export function admitDesiredState(desired: DesiredState, allow: string[]): void {
  // A container's secrets live in a directory reserved for them (docs/secrets.md): part of the container.
  const outside = desired.resources.filter((r) => r.kind === 'file' && !isContainerSecretPath(r.name) && !allow.some((dir) => isUnder(r.name, dir)));
  if (outside.length > 0) {
    const list = outside.map((r) => `${r.name} (${r.source.file}:${r.source.line})`).join(', ');
    throw new GitfleetError('PATH_NOT_ALLOWED', `file resources outside this agent's files.allow [${allow.join(', ')}]: ${list}`);
  }
}
