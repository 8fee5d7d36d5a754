// The fleet's (or one tag's) sync states over the last day or week, from
// GET /api/v1/history: the overview shows the whole fleet, the hosts page a
// tag's subtree when it is filtered to one.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api.ts';
import { useFetch } from '../use-fetch.ts';
import { ChartLegend, HistoryChart } from './history-chart.ts';
import type { ChartPoint } from './history-chart.ts';

export interface HistoryAnswer {
  range: 'day' | 'week';
  tag: string | null;
  resolution: string;
  bucketMs: number;
  from: string;
  to: string;
  points: ChartPoint[];
}

/** The hub stores a point a minute: the chart reloads as often, not on every live change. */
const REFRESH_MS = 60_000;

export function FleetHistory({ api, tag }: { api: Api; tag: string }) {
  const [range, setRange] = useState<'day' | 'week'>('day');
  const [minute, setMinute] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setMinute((m) => m + 1), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const query = `range=${range}${tag ? `&tag=${encodeURIComponent(tag)}` : ''}`;
  const history = useFetch((signal) => api.request<HistoryAnswer>('GET', `/api/v1/history?${query}`, undefined, signal), [query, minute]);
  const what = tag ? `tag ${tag}` : 'the fleet';
  const label = `Hosts of ${what} by sync state over the last ${range}`;
  const data = history.data;
  return h(
    'section',
    { class: 'fleet-history', 'aria-labelledby': 'history-h', 'data-range': range },
    h('h2', { id: 'history-h' }, 'History'),
    h(
      'div',
      { class: 'range-switch', role: 'group', 'aria-label': 'time range' },
      (['day', 'week'] as const).map((r) => h('button', { key: r, type: 'button', class: r === range ? '' : 'secondary', 'aria-pressed': r === range, 'data-range': r, onClick: () => setRange(r) }, r === 'day' ? 'Last day' : 'Last week')),
    ),
    history.error ? h('p', { class: 'error' }, history.error) : null,
    data === null
      ? h('p', { class: 'muted' }, 'Loading…')
      : data.points.length === 0
        ? h('p', { class: 'muted', 'data-testid': 'no-history' }, `No history yet for ${what}: the hub records a point every minute.`)
        : h('div', null, h(HistoryChart, { points: data.points, from: data.from, to: data.to, bucketMs: data.bucketMs, label }), h(ChartLegend, null)),
  );
}
