// When a status is news: the rule shared by the hub link (what is sent) and the
// state store (what is written to status.json). Every pass moves a few fields
// without changing anything; a status whose only changes are those is sent and
// written again only after STATUS_REFRESH_MS, so an idle agent neither sends
// ≈2 KB to the hub nor rewrites and fsyncs status.json twice a minute (flash
// storage on small devices wears with every write).
import type { HostStatus } from '../../shared/status.ts';

/**
 * The longest a status with no news waits to be sent or written: a quiet
 * host's copy at the hub and in status.json is at most this old
 * (docs/agent.md, "What reaches the hub" and "Status").
 */
export const STATUS_REFRESH_MS = 10 * 60_000;

/**
 * What makes a status news: everything but what every pass moves without
 * changing anything — updatedAt, and the Reconciling condition's time and
 * message (it flips twice on every pass, and its message names the trigger,
 * which alternates between poll and drift check).
 */
export function statusNewsKey(status: HostStatus): string {
  const { updatedAt: _updated, conditions, ...rest } = status;
  return JSON.stringify({ ...rest, conditions: conditions.map((c) => (c.type === 'Reconciling' ? { ...c, lastTransitionTime: '', message: '' } : c)) });
}
