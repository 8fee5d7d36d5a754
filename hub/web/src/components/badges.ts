// State badges: the state's name is always written out, so color is never the
// only carrier of meaning (color-blind operators, screen readers).
import { h } from 'preact';
import type { HostSummary } from '../types.ts';

const syncLabels: Record<string, string> = {
  InSync: 'in sync',
  OutOfSync: 'out of sync',
  Drifted: 'drifted',
  Missing: 'missing',
  Pending: 'pending',
  Failed: 'failed',
  Ignored: 'ignored',
  Unknown: 'unknown',
};

export function syncLabel(state: string): string {
  return syncLabels[state] ?? state;
}

export function SyncBadge({ state }: { state: string | null }) {
  const s = state ?? 'Unknown';
  return h('span', { class: `badge sync-${s}`, 'data-sync': s }, syncLabel(s));
}

export function HealthBadge({ state }: { state: string }) {
  return h('span', { class: `badge health-${state}` }, state.toLowerCase());
}

export function ConnectivityBadge({ state }: { state: string }) {
  const label = state === 'NeverSeen' ? 'never seen' : state.toLowerCase();
  return h('span', { class: `badge conn-${state}` }, label);
}

/** Everything a host row says about its state, worst first. */
export function HostStateBadges({ host }: { host: HostSummary }) {
  return h(
    'span',
    { class: 'badges' },
    h(SyncBadge, { state: host.sync }),
    host.connectivity !== 'Online' ? h(ConnectivityBadge, { state: host.connectivity }) : null,
    host.reconciling ? h('span', { class: 'badge reconciling' }, 'reconciling') : null,
    host.behind ? h('span', { class: 'badge behind' }, 'behind') : null,
    host.declared ? null : h('span', { class: 'badge undeclared' }, 'undeclared'),
  );
}
