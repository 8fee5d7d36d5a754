// A stacked area chart of hosts by sync state over time, drawn as SVG by
// Preact: one path per state (colored by CSS class, no style attributes: the
// CSP forbids inline styles), broken where the hub stored no point (it was
// down), and one invisible column per point whose <title> reads the counts
// out on hover. No chart library.
import { h } from 'preact';

export interface ChartPoint {
  at: string;
  counts: Record<string, number>;
}

/** Bottom to top: the healthy mass first, the states that need attention on top where they are seen. */
export const stackOrder: readonly string[] = ['InSync', 'Ignored', 'Unknown', 'Pending', 'OutOfSync', 'Missing', 'Drifted', 'Failed'];

/** The stack for these points: the known states, then any state a newer hub reports that this view does not know yet. */
function statesOf(points: readonly ChartPoint[]): string[] {
  const extra = new Set<string>();
  for (const p of points) for (const s of Object.keys(p.counts)) if (!stackOrder.includes(s)) extra.add(s);
  return [...stackOrder, ...[...extra].sort()];
}

const W = 720;
const H = 150;
const PAD = { left: 36, right: 6, top: 8, bottom: 20 };

function timeLabel(ms: number, spanMs: number): string {
  const d = new Date(ms);
  return spanMs > 36 * 3_600_000 ? d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric' }) : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function describePoint(p: ChartPoint): string {
  // Worst first, as people read it.
  const parts = [...statesOf([p])].reverse().filter((s) => (p.counts[s] ?? 0) > 0).map((s) => `${s} ${p.counts[s]}`);
  return `${new Date(p.at).toLocaleString()}: ${parts.length > 0 ? parts.join(', ') : 'no hosts'}`;
}

export function HistoryChart({ points, from, to, bucketMs, label }: { points: ChartPoint[]; from: string; to: string; bucketMs: number; label: string }) {
  const t0 = Date.parse(from);
  const t1 = Date.parse(to);
  const span = Math.max(1, t1 - t0);
  const states = statesOf(points);
  const total = (p: ChartPoint) => states.reduce((n, s) => n + (p.counts[s] ?? 0), 0);
  const max = Math.max(1, ...points.map(total));
  const x = (ms: number) => PAD.left + ((ms - t0) / span) * (W - PAD.left - PAD.right);
  const y = (n: number) => PAD.top + (1 - n / max) * (H - PAD.top - PAD.bottom);
  const colW = Math.max(1, (bucketMs / span) * (W - PAD.left - PAD.right));

  // Runs of consecutive points: a gap longer than 1.5 buckets ends a run (no point was stored there).
  const runs: ChartPoint[][] = [];
  let prev = Number.NEGATIVE_INFINITY;
  for (const p of points) {
    const at = Date.parse(p.at);
    if (at - prev > bucketMs * 1.5 || runs.length === 0) runs.push([]);
    runs[runs.length - 1]!.push(p);
    prev = at;
  }
  // Each state's band: its top edge left to right, its bottom edge (the states below it) right to left.
  const paths = states.map((state, level) => {
    const d = runs
      .map((run) => {
        const below = (p: ChartPoint) => states.slice(0, level).reduce((n, s) => n + (p.counts[s] ?? 0), 0);
        const edge = (p: ChartPoint, n: number) => [x(Date.parse(p.at)), y(n)] as const;
        // A run of one point is drawn one bucket wide, so a lone point still shows.
        const pts = run.length === 1 ? [run[0]!, { ...run[0]!, at: new Date(Date.parse(run[0]!.at) + bucketMs).toISOString() }] : run;
        const top = pts.map((p) => edge(p, below(p) + (p.counts[state] ?? 0)));
        const bottom = pts.map((p) => edge(p, below(p))).reverse();
        return `M${[...top, ...bottom].map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join('L')}Z`;
      })
      .join('');
    return h('path', { key: state, class: `area area-${state}`, d, 'data-state': state });
  });
  const ticks = [t0, t0 + span / 2, t1];
  return h(
    'svg',
    { class: 'history-chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, 'data-points': points.length, 'data-max': max },
    h('title', null, label),
    h('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: y(0), y2: y(0) }),
    h('text', { class: 'axis-label', x: PAD.left - 4, y: y(max) + 8, 'text-anchor': 'end' }, String(max)),
    h('text', { class: 'axis-label', x: PAD.left - 4, y: y(0), 'text-anchor': 'end' }, '0'),
    ticks.map((t, i) => h('text', { key: i, class: 'axis-label', x: x(t), y: H - 4, 'text-anchor': i === 0 ? 'start' : i === 2 ? 'end' : 'middle' }, timeLabel(t, span))),
    paths,
    h(
      'g',
      { class: 'hits' },
      points.map((p) => h('rect', { key: p.at, class: 'hit', x: x(Date.parse(p.at)), y: PAD.top, width: colW, height: H - PAD.top - PAD.bottom, 'data-at': p.at, 'data-total': total(p) }, h('title', null, describePoint(p)))),
    ),
  );
}

export function ChartLegend() {
  return h(
    'ul',
    { class: 'chart-legend', 'aria-label': 'legend' },
    [...stackOrder].reverse().map((s) => h('li', { key: s }, h('svg', { class: 'swatch', viewBox: '0 0 10 10', 'aria-hidden': 'true' }, h('rect', { class: `area area-${s}`, width: 10, height: 10 })), ` ${s}`)),
  );
}
