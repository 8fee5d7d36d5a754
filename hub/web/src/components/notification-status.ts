// The overview's "Notifications" block: each sink and the commit status
// write-back with what was delivered, retried, failed and dropped, and the
// last error, so a receiver that stopped accepting is seen without reading
// /metrics. Shown only when the hub has notifications configured.
import { h } from 'preact';
import type { Api } from '../api.ts';
import type { NotificationsView } from '../../../notify/notifications.ts';
import { ago } from '../format.ts';
import { useFetch } from '../use-fetch.ts';

interface Row {
  key: string;
  name: string;
  kind: string;
  delivered: number;
  retried: number;
  failed: number;
  dropped: number;
  queued: number;
  lastError: string | null;
  lastErrorAt: string | null;
  lastDeliveredAt: string | null;
}

function rows(v: NotificationsView): Row[] {
  const out: Row[] = v.sinks.map((s) => ({ key: `sink-${s.name}`, ...s, kind: s.type }));
  const c = v.commitStatus;
  if (c) out.push({ key: 'forge', ...c, name: 'commit status', kind: c.forge });
  return out;
}

export function NotificationStatus({ api, tick }: { api: Api; tick: number }) {
  const view = useFetch((signal) => api.request<NotificationsView>('GET', '/api/v1/notifications', undefined, signal), [tick]);
  if (view.error) return h('p', { class: 'error' }, view.error);
  if (!view.data?.enabled) return null;
  const list = rows(view.data);
  const c = view.data.commitStatus;
  return h(
    'section',
    { 'aria-labelledby': 'notify-h', 'data-testid': 'notifications' },
    h('h2', { id: 'notify-h' }, 'Notifications'),
    // On a cluster only the leader sends: the counts below are this replica's own deliveries.
    view.data.sending ? null : h('p', { class: 'muted', 'data-testid': 'notify-elsewhere' }, 'Sent by another hub replica (the cluster’s leader); the counts below are this replica’s own deliveries.'),
    c?.revision ? h('p', { class: 'muted' }, `Commit status of ${c.revision.slice(0, 7)}: ${c.state ?? '—'} (${c.description ?? ''})`) : null,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        null,
        h('thead', null, h('tr', null, ['Sink', 'Type', 'Delivered', 'Retried', 'Failed', 'Dropped', 'Queued', 'Last error'].map((t) => h('th', { key: t, scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          list.map((r) =>
            h(
              'tr',
              { key: r.key, 'data-sink': r.name },
              h('td', null, r.name),
              h('td', null, r.kind),
              h('td', null, String(r.delivered)),
              h('td', null, String(r.retried)),
              h('td', { class: r.failed > 0 ? 'error' : undefined }, String(r.failed)),
              h('td', { class: r.dropped > 0 ? 'error' : undefined }, String(r.dropped)),
              h('td', null, String(r.queued)),
              // Text, never markup: an error may quote what a receiver answered.
              h('td', { class: 'muted' }, r.lastError ? `${r.lastError} (${ago(r.lastErrorAt)})` : '—'),
            ),
          ),
        ),
      ),
    ),
  );
}
