// The hosts table: filter by tag and state, free-text search, sort by any
// column, paged on the server (the hub filters 10,000 summaries in memory in
// a few milliseconds; the browser only ever renders one page of rows).
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { HostSummary } from '../types.ts';
import { ago, shortRev } from '../format.ts';
import { hostHref, hostsHref } from '../route.ts';
import { HostStateBadges } from '../components/badges.ts';
import { useFetch } from '../use-fetch.ts';
import { FleetHistory } from '../components/fleet-history.ts';
import type { PageProps } from './context.ts';

export const PAGE_SIZE = 100;

/** State filter choices: the API's state names. */
const stateChoices: Array<[string, string]> = [
  ['', 'any state'],
  ['Failed', 'failed'],
  ['Drifted,Missing', 'drifted or missing'],
  ['OutOfSync', 'out of sync (a Git change not applied yet)'],
  ['Pending', 'pending'],
  ['Reconciling', 'reconciling'],
  ['InSync', 'in sync'],
  ['Unknown', 'unknown (not reported)'],
  ['Offline', 'offline'],
  ['NeverSeen', 'never seen'],
  ['Online', 'online'],
  ['Behind', 'behind head'],
  ['Undeclared', 'not in the repo'],
];

const columns: Array<{ key: string; label: string }> = [
  { key: 'id', label: 'Host' },
  { key: 'place', label: 'Tags' },
  { key: 'sync', label: 'State' },
  { key: 'lastAppliedRevision', label: 'Applied revision' },
  { key: 'drift', label: 'Drift' },
  { key: 'lastSeenAt', label: 'Last seen' },
];

export interface HostsFilter {
  tag: string;
  state: string[];
  q: string;
  sort: string;
  order: 'asc' | 'desc';
  page: number;
}

function Row({ host, commitUrl }: { host: HostSummary; commitUrl: string | null }) {
  const rev = host.lastAppliedRevision;
  return h(
    'tr',
    { 'data-host': host.id },
    h('th', { scope: 'row' }, h('a', { href: hostHref(host.id) }, host.id)),
    h('td', { class: 'tags-cell' }, host.tags.filter((t) => !host.tags.some((o) => o.startsWith(t + '/'))).map((t) => h('a', { key: t, class: 'tag', href: hostsHref({ tag: t }) }, t))),
    h('td', null, h(HostStateBadges, { host })),
    h('td', null, rev ? (commitUrl ? h('a', { href: commitUrl.replace('{rev}', encodeURIComponent(rev)), rel: 'noopener noreferrer', title: rev }, h('code', null, shortRev(rev))) : h('code', { title: rev }, shortRev(rev))) : '—'),
    h('td', { class: 'num' }, host.resources.notInSync > 0 ? h('strong', null, String(host.resources.notInSync)) : '0'),
    h('td', { title: host.lastSeenAt ?? '' }, ago(host.lastSeenAt)),
  );
}

export function HostsPage(p: PageProps & { initial: HostsFilter; commitUrl: string | null }) {
  const [f, setF] = useState<HostsFilter>(p.initial);
  const [qInput, setQInput] = useState(p.initial.q);
  const first = useRef(true);
  // The filter lives in the URL too (replaceState: no history entry per keystroke), so a view can be shared.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    history.replaceState(null, '', hostsHref(f));
  }, [f]);
  const page = useFetch(
    (signal) => p.api.hosts({ tag: f.tag, state: f.state, q: f.q, sort: f.sort, order: f.order, offset: f.page * PAGE_SIZE, limit: PAGE_SIZE }, signal),
    [f, p.tick],
  );
  const set = (patch: Partial<HostsFilter>) => setF((old) => ({ ...old, page: 0, ...patch }));
  const total = page.data?.total ?? 0;
  const from = total === 0 ? 0 : f.page * PAGE_SIZE + 1;
  const to = Math.min(total, (f.page + 1) * PAGE_SIZE);
  const sortBy = (key: string) => set({ sort: key, order: f.sort === key && f.order === 'asc' ? 'desc' : 'asc' });
  const knownTags = p.summary?.tags.map((t) => t.tag) ?? [];

  return h(
    'div',
    { class: 'page hosts' },
    h('h1', null, 'Hosts'),
    // Filtered to a tag: that tag's history above its hosts.
    f.tag ? h(FleetHistory, { api: p.api, tag: f.tag }) : null,
    h(
      'form',
      { class: 'filters', role: 'search', onSubmit: (e: Event) => e.preventDefault() },
      h(
        'label',
        null,
        'Search ',
        h('input', {
          type: 'search',
          name: 'q',
          value: qInput,
          placeholder: 'id, tag, revision…',
          autocomplete: 'off',
          onInput: (e: Event) => {
            const v = (e.currentTarget as HTMLInputElement).value;
            setQInput(v);
            set({ q: v.trim() });
          },
        }),
      ),
      h(
        'label',
        null,
        'State ',
        h(
          'select',
          { name: 'state', value: f.state.join(','), onChange: (e: Event) => set({ state: (e.currentTarget as HTMLSelectElement).value.split(',').filter((s) => s !== '') }) },
          stateChoices.map(([v, label]) => h('option', { key: v, value: v }, label)),
        ),
      ),
      h(
        'label',
        null,
        'Tag ',
        h('input', { type: 'text', name: 'tag', list: 'known-tags', value: f.tag, placeholder: 'prod/eu', autocomplete: 'off', onChange: (e: Event) => set({ tag: (e.currentTarget as HTMLInputElement).value.trim() }) }),
        h('datalist', { id: 'known-tags' }, knownTags.slice(0, 500).map((t) => h('option', { key: t, value: t }))),
      ),
      f.tag || f.state.length > 0 || f.q
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onClick: () => {
                setQInput('');
                set({ tag: '', state: [], q: '' });
              },
            },
            'Clear filters',
          )
        : null,
    ),
    h(
      'p',
      { class: 'muted', 'aria-live': 'polite', 'data-testid': 'hosts-count' },
      page.error ? h('span', { class: 'error' }, page.error) : page.data ? `${from}–${to} of ${total} host${total === 1 ? '' : 's'}${f.tag ? ` in ${f.tag}` : ''}` : 'Loading…',
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'hosts-table', 'aria-busy': page.loading ? 'true' : 'false', 'data-total': String(total) },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            columns.map((c) =>
              h(
                'th',
                { key: c.key, scope: 'col', 'aria-sort': f.sort === c.key ? (f.order === 'asc' ? 'ascending' : 'descending') : 'none' },
                h('button', { type: 'button', class: 'sort', 'data-sort': c.key, onClick: () => sortBy(c.key) }, c.label, f.sort === c.key ? (f.order === 'asc' ? ' ▲' : ' ▼') : ''),
              ),
            ),
          ),
        ),
        h('tbody', null, (page.data?.hosts ?? []).map((host) => h(Row, { key: host.id, host, commitUrl: p.commitUrl }))),
      ),
    ),
    total > PAGE_SIZE
      ? h(
          'nav',
          { class: 'pager', 'aria-label': 'pages' },
          h('button', { type: 'button', disabled: f.page === 0, onClick: () => setF({ ...f, page: f.page - 1 }) }, '← Previous'),
          h('span', null, ` page ${f.page + 1} of ${Math.ceil(total / PAGE_SIZE)} `),
          h('button', { type: 'button', disabled: to >= total, onClick: () => setF({ ...f, page: f.page + 1 }) }, 'Next →'),
        )
      : null,
  );
}
