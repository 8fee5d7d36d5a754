// The plan's verdict in one line, counted per resource (not per step): what
// a reconcile would create, change (from Git), correct (drift on the host) or
// prune — and, when the head would not be applied, why. Also the exit code:
// 0 nothing to do, 2 changes pending, 1 the head refused or the plan could
// not be made (like `terraform plan -detailed-exitcode`).
import type { Step } from '../engine/steps.ts';
import type { Inventory } from '../engine/model.ts';

export interface PlanCounts {
  create: number;
  change: number;
  drift: number;
  prune: number;
  /** Resources a reconcile would take over as they are (docs/adopt.md): nothing on the host changes for them. */
  adopt?: number;
}

export function countPlan(steps: Step[], inventory: Inventory): PlanCounts {
  const byResource = new Map<string, Step['cause']>();
  for (const s of steps) {
    const id = s.resource ?? `(${s.type})`;
    // A resource with a Git change and a drift fix counts once, as the Git change.
    if (byResource.get(id) !== 'intended') byResource.set(id, s.cause);
  }
  const counts: PlanCounts = { create: 0, change: 0, drift: 0, prune: 0 };
  for (const [id, cause] of byResource) {
    if (id.startsWith('(')) continue; // a reload on its own is not a resource change
    if (cause === 'prune') counts.prune++;
    else if (cause === 'drift') counts.drift++;
    else if ((inventory.resources as Record<string, unknown>)[id] === undefined) counts.create++;
    else counts.change++;
  }
  return counts;
}

export function summaryLine(counts: PlanCounts, refused: { revision: string | null; cause: string } | null): string {
  const base = `Plan: ${counts.create} create, ${counts.change} change, ${counts.drift} correct drift, ${counts.prune} prune${counts.adopt ? `, ${counts.adopt} adopt` : ''}`;
  return refused ? `${base}; head ${(refused.revision ?? 'unknown').slice(0, 12)} refused: ${refused.cause}` : base;
}

export const planExit = { nothing: 0, error: 1, changes: 2 } as const;
