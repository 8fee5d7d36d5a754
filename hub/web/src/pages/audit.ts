// The audit log (admins only): who did what, when and from where, newest
// first; "Older" pages back through it. Text is rendered as text nodes
// (Preact escapes it), so a host id or token name cannot inject markup.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { useFetch } from '../use-fetch.ts';
import { ago } from '../format.ts';
import type { PageProps } from './context.ts';
import type { StoredAuditEntry } from '../../../store/fleet-records.ts';

const PAGE = 50;

export function AuditPage(p: PageProps) {
  const [before, setBefore] = useState<number[]>([]);
  const cursor = before[before.length - 1];
  const page = useFetch(
    (signal) => p.api.request<{ entries: StoredAuditEntry[]; next: number | null }>('GET', `/api/v1/audit?limit=${PAGE}${cursor === undefined ? '' : `&before=${cursor}`}`, undefined, signal),
    [cursor],
  );
  if (p.role !== 'admin') return h('div', { class: 'page audit' }, h('h1', null, 'Audit log'), h('p', { class: 'error' }, 'Only admins can read the audit log.'));
  const data = page.data;
  return h(
    'div',
    { class: 'page audit' },
    h('h1', null, 'Audit log'),
    h('p', { class: 'muted' }, 'Every admin action and every refused API token, newest first: who (the token), when, from which address.'),
    page.error ? h('p', { class: 'error' }, page.error) : null,
    data === null
      ? h('p', { class: 'muted' }, 'Loading…')
      : data.entries.length === 0
        ? h('p', { class: 'muted' }, 'Nothing recorded yet.')
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'audit-table' },
              h('thead', null, h('tr', null, ['When', 'Who', 'From', 'Action', 'Target', 'Result', 'Detail'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
              h(
                'tbody',
                null,
                data.entries.map((e) =>
                  h(
                    'tr',
                    { key: e.id, 'data-audit': e.action, 'data-outcome': e.outcome },
                    h('td', { title: e.time }, h('time', { dateTime: e.time }, ago(e.time))),
                    h('td', null, e.actor ?? h('span', { class: 'muted' }, 'unknown token')),
                    h('td', null, h('code', null, e.address)),
                    h('td', null, h('code', null, e.action)),
                    h('td', null, e.target),
                    h('td', null, h('span', { class: `badge ${e.outcome === 'ok' ? 'sync-InSync' : 'sync-Failed'}` }, e.outcome)),
                    h('td', { class: 'detail' }, e.detail ?? ''),
                  ),
                ),
              ),
            ),
          ),
    h(
      'p',
      { class: 'pager' },
      before.length > 0 ? h('button', { type: 'button', class: 'secondary', onClick: () => setBefore(before.slice(0, -1)) }, 'Newer') : null,
      ' ',
      data?.next ? h('button', { type: 'button', class: 'secondary', 'data-action': 'older', onClick: () => setBefore([...before, data.next!]) }, 'Older') : null,
    ),
  );
}
