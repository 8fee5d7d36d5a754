// A container's `secrets:` (docs/secrets.md), after substitution: each entry
// becomes a file resource in the container's own directory under
// CONTAINER_SECRETS_DIR (mode 0400 unless given, owned by root or uid/gid),
// bind-mounted read-only at /run/secrets/NAME. The container depends on its
// files (written first) and each file notifies it: a bind-mounted file is
// replaced by rename, so only a restart shows the container the new content.
// The secret never enters the container's spec, so never its env or hash.
// The same shape as the Compose mapping's configs/secrets (repo/compose/to-container.ts).
import type { ContainerResource, DesiredResource, FileResource, FileSpec, ResourceId } from '../../shared/resources.ts';
import { containerSecretPath, CONTAINER_SECRETS_DIR, filePathProblem, isContainerSecretPath, resourceId } from '../../shared/resources.ts';
import type { ValidationIssue } from './issues.ts';
import { issue } from './issues.ts';
import type { ResourceEntry } from './layer-file.ts';

/** The target inside the container: absolute as given, else under /run/secrets (Compose's rule). */
export function secretTarget(name: string, target: string | undefined): string {
  if (target === undefined) return `/run/secrets/${name}`;
  return target.startsWith('/') ? target : `/run/secrets/${target}`;
}

/**
 * Replaces each container's `secrets` by file resources and read-only bind
 * mounts. Returns the generated file ids with the entry of the container that
 * declared them (for positions in later checks). A native file inside the
 * reserved directory is an issue: only a container's secrets live there.
 */
export function expandContainerSecrets(
  resources: DesiredResource[],
  entries: Map<ResourceId, ResourceEntry>,
  issues: ValidationIssue[],
): Map<ResourceId, ResourceEntry> {
  const generated = new Map<ResourceId, ResourceEntry>();
  for (const r of resources) {
    if (r.kind !== 'file' || !isContainerSecretPath(r.name)) continue;
    const e = entries.get(r.id);
    if (e) issues.push(issue(e.file, e, 'INVALID_PATH', `${r.name} is inside ${CONTAINER_SECRETS_DIR}, which is reserved for containers' secrets (declare the secret under the container's secrets: instead)`));
  }
  const added: FileResource[] = [];
  for (const r of resources) {
    if (r.kind !== 'container' || r.spec.secrets === undefined) continue;
    const { secrets, ...rest } = r.spec;
    const entry = entries.get(r.id)!;
    const binds: string[] = [];
    const fileIds: ResourceId[] = [];
    // Docker refuses two mounts at one path: say which entry, before anything is applied.
    const taken = new Set((rest.volumes ?? []).map((v) => v.split(':')[1] ?? v));
    for (const [name, secret] of Object.entries(secrets)) {
      const long = typeof secret === 'string' ? { content: secret } : secret;
      const target = secretTarget(name, long.target);
      const problem = filePathProblem(target) ?? (/[:,]/.test(target) ? "it contains ':' or ','" : taken.has(target) ? 'another volume or secret is mounted there' : null);
      taken.add(target);
      if (problem !== null) {
        issues.push(issue(entry.file, entry.source.locate([entry.section.key, entry.name, 'secrets', name, 'target']), 'INVALID_VALUE', `container "${r.name}": secret "${name}" target ${JSON.stringify(target)} is not a usable path in the container: ${problem}`));
        continue;
      }
      const path = containerSecretPath(r.name, name);
      const spec: FileSpec = { content: long.content, mode: long.mode ?? '0400', notify: [r.id] };
      if (long.uid !== undefined) spec.owner = String(long.uid);
      if (long.gid !== undefined) spec.group = String(long.gid);
      const id = resourceId('file', path);
      added.push({ id, kind: 'file', name: path, spec, drift: r.drift, dependsOn: [], source: r.source } as FileResource);
      generated.set(id, entry);
      fileIds.push(id);
      binds.push(`${path}:${target}:ro`);
    }
    const spec: ContainerResource['spec'] = { ...rest };
    if (binds.length > 0) spec.volumes = [...(rest.volumes ?? []), ...binds];
    const dependsOn = [...fileIds, ...(rest.depends_on ?? []) as ResourceId[]];
    if (dependsOn.length > 0) spec.depends_on = dependsOn;
    r.spec = spec;
    r.dependsOn = dependsOn;
  }
  resources.push(...added);
  return generated;
}
