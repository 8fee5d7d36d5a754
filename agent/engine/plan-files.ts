// File planning: content is compared in full; mode, owner and group only when
// the spec names them (an unnamed owner is whoever the agent runs as).
//
// A content diff never carries content: the live file may hold anything (a
// password someone put there by hand), and diffs go to the hub and its viewers.
// Both sides are shown by size and SHA-256 prefix; a secret file's (one whose
// content came from an encrypted layer, docs/secrets.md) only as "changed".
import { createHash } from 'node:crypto';
import type { FileResource } from '../../shared/resources.ts';
import { MASK } from '../../shared/secrets/mask.ts';
import type { FieldDiff } from '../../shared/status.ts';
import type { Inventory, LiveState, PlanContext } from './model.ts';
import { applyDriftPolicy, causeOf, specHash, status, type ResourcePlan } from './resource-plan.ts';
import type { Step } from './steps.ts';

/** "644" and "0644" are the same mode. */
export function normalizeMode(mode: string): string {
  return mode.padStart(4, '0');
}

export function planFile(resource: FileResource, live: LiveState, inventory: Inventory, ctx: Pick<PlanContext, 'correctReportedDrift' | 'adopt'> = {}): ResourcePlan {
  const path = resource.name;
  const spec = resource.spec;
  if (live.unavailable.file !== undefined) {
    return { resource, steps: [], status: status(resource, 'Pending', 'Unknown', [], `cannot observe files: ${live.unavailable.file}`) };
  }
  const cause = causeOf(resource, inventory);
  const current = live.files.get(path);
  const base = { resource: resource.id, cause };
  if (!current || !current.exists) {
    const steps: Step[] = [{ type: 'file.write', args: { path, spec }, ...base, reason: cause === 'intended' ? 'create' : 'file was deleted on the host' }];
    return applyDriftPolicy({ resource, steps, status: status(resource, 'Missing', 'Degraded', [{ field: 'file', desired: 'present', live: 'absent' }]) }, cause, resource.drift, ctx.correctReportedDrift);
  }
  const diff: FieldDiff[] = [];
  if (current.content !== spec.content) {
    diff.push(resource.secret ? { field: 'content', desired: MASK, live: 'changed' } : { field: 'content', desired: fingerprint(spec.content), live: fingerprint(current.content ?? '') });
  }
  const attrs: FieldDiff[] = [];
  if (spec.mode !== undefined && current.mode !== null && normalizeMode(current.mode) !== normalizeMode(spec.mode)) {
    attrs.push({ field: 'mode', desired: normalizeMode(spec.mode), live: normalizeMode(current.mode) });
  }
  if (spec.owner !== undefined && !sameAccount(spec.owner, current.owner, current.uid)) attrs.push({ field: 'owner', desired: spec.owner, live: current.owner });
  if (spec.group !== undefined && !sameAccount(spec.group, current.group, current.gid)) attrs.push({ field: 'group', desired: spec.group, live: current.group });
  // Adoption (docs/adopt.md): a file found with the declared content is taken over as it is, never rewritten
  // (only its mode or owner set when those differ); adopted stays while its declaration is unchanged.
  const entry = inventory.resources[resource.id];
  const fresh = ctx.adopt === true && entry === undefined;
  if (diff.length === 0 && (fresh || (entry?.adopted !== undefined && entry.hash === specHash(resource)))) {
    const message = 'adopted: found with the declared content; kept as it is (not rewritten)';
    const steps: Step[] = attrs.length > 0 ? [{ type: 'file.attributes', args: { path, spec }, ...base, reason: `adopt: ${attrs.map((d) => `${d.field} differs`).join(', ')}` }] : [];
    return { resource, steps, adopt: {}, status: { ...status(resource, steps.length > 0 ? 'Drifted' : 'InSync', 'Healthy', attrs, message), adoption: 'Adopted' } };
  }
  if (diff.length === 0 && attrs.length === 0) return { resource, steps: [], status: status(resource, 'InSync', 'Healthy') };
  if (fresh) {
    const steps: Step[] = [{ type: 'file.write', args: { path, spec }, ...base, reason: 'adopt: rewrite (differs: content)' }];
    return { resource, steps, status: { ...status(resource, 'Drifted', 'Healthy', [...diff, ...attrs], 'adopt: rewrite (differs: content)'), adoption: 'Rewrite' } };
  }
  const steps: Step[] =
    diff.length > 0
      ? [{ type: 'file.write', args: { path, spec }, ...base, reason: 'content differs' }]
      : [{ type: 'file.attributes', args: { path, spec }, ...base, reason: attrs.map((d) => `${d.field} differs`).join(', ') }];
  return applyDriftPolicy({ resource, steps, status: status(resource, 'Drifted', 'Healthy', [...diff, ...attrs]) }, cause, resource.drift, ctx.correctReportedDrift);
}

/** A desired owner or group named by id ("1000") matches the live id even when the host has a name for it. */
function sameAccount(desired: string, liveName: string | null, liveId: number | undefined): boolean {
  return desired === liveName || (/^\d+$/.test(desired) && liveId !== undefined && Number(desired) === liveId);
}

/** Size and hash, never content: "sha256:0123456789ab… (42 bytes)". */
export function fingerprint(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 12)}… (${Buffer.byteLength(text)} bytes)`;
}
