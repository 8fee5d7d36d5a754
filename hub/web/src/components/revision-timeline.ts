// A host's revisions and attempts on a time line (SVG, no library): each
// attempt is a mark colored by its result, and the revision the host ran is a
// band labelled with its short id from the attempt that brought it on.
import { h } from 'preact';
import type { Attempt } from '../types.ts';
import { duration, shortRev } from '../format.ts';

const W = 720;
const H = 70;
const PAD = { left: 8, right: 8 };

export function RevisionTimeline({ attempts, now = Date.now() }: { attempts: Attempt[]; now?: number }) {
  if (attempts.length === 0) return null;
  const ordered = [...attempts].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const t0 = Date.parse(ordered[0]!.startedAt);
  const span = Math.max(60_000, now - t0);
  const x = (ms: number) => PAD.left + ((ms - t0) / span) * (W - PAD.left - PAD.right);
  // Bands: from an attempt that moved the host to a revision (Succeeded or RolledBack) until the next such move.
  const moves = ordered.filter((a) => a.result === 'Succeeded' || a.result === 'RolledBack');
  const bands: Array<{ revision: string; start: number; end: number }> = [];
  for (const a of moves) {
    const last = bands[bands.length - 1];
    if (last && last.revision === a.revision) continue;
    if (last) last.end = Date.parse(a.startedAt);
    bands.push({ revision: a.revision, start: Date.parse(a.startedAt), end: now });
  }
  return h(
    'svg',
    { class: 'revision-timeline', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `revisions and ${attempts.length} attempts since ${new Date(t0).toLocaleString()}`, 'data-attempts': attempts.length },
    bands.map((b, i) =>
      h(
        'g',
        { key: `${b.revision}-${i}`, 'data-revision': b.revision },
        h('rect', { class: `band band-${i % 2}`, x: x(b.start), y: 6, width: Math.max(2, x(b.end) - x(b.start)), height: 24 }, h('title', null, `revision ${b.revision} from ${new Date(b.start).toLocaleString()}`)),
        h('text', { class: 'band-label', x: x(b.start) + 3, y: 22 }, shortRev(b.revision)),
      ),
    ),
    h('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: 46, y2: 46 }),
    ordered.map((a, i) =>
      h(
        'circle',
        { key: `${a.startedAt}-${i}`, class: `mark result-${a.result}`, cx: x(Date.parse(a.startedAt)), cy: 46, r: 5, 'data-result': a.result },
        h('title', null, `${new Date(a.startedAt).toLocaleString()} · ${a.trigger} · ${shortRev(a.revision)} · ${a.result}${a.reason ? ` (${a.reason})` : ''} · ${duration(a.durationMs)}`),
      ),
    ),
    h('text', { class: 'axis-label', x: PAD.left, y: H - 4 }, new Date(t0).toLocaleString()),
    h('text', { class: 'axis-label', x: W - PAD.right, y: H - 4, 'text-anchor': 'end' }, 'now'),
  );
}
