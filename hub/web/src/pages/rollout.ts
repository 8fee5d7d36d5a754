// Staged rollouts (docs/rollouts.md): the list, one rollout's page — each
// wave's hosts pending, applying, done and failed, the soak countdown, the
// failure budget, the history — with the controls for admins (pause, resume,
// promote, abort), and the overview's banner for the active ones. Text from
// the repo or hosts is rendered as text nodes (Preact escapes it).
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useFetch } from '../use-fetch.ts';
import { ago, shortRev } from '../format.ts';
import { hostHref, rolloutHref } from '../route.ts';
import type { PageProps } from './context.ts';

type Progress = 'pending' | 'applying' | 'done' | 'failed';

export interface RolloutWaveView {
  name: string;
  hosts: number;
  openedAt: string | null;
  closedAt: string | null;
  progress: Record<Progress, number>;
}

export interface RolloutSummaryView {
  id: string;
  revision: string;
  subject: string | null;
  scope: string;
  state: 'running' | 'paused' | 'halted' | 'aborted' | 'done' | 'superseded';
  createdAt: string;
  current: number;
  soakUntil: string | null;
  failed: string[];
  budget: number;
  haltReason: string | null;
  hostCount: number;
  waves: RolloutWaveView[];
  history: Array<{ action: string; by: string; at: string; note?: string }>;
}

interface RolloutHostView {
  id: string;
  wave: string;
  progress: Progress;
  counted: 'failed' | null;
}

const stateTone: Record<RolloutSummaryView['state'], string> = {
  running: 'sync-Pending',
  paused: 'sync-Drifted',
  halted: 'sync-Failed',
  aborted: 'sync-Failed',
  done: 'sync-InSync',
  superseded: 'rollout-superseded',
};
const progressTone: Record<Progress, string> = { pending: 'muted', applying: 'info', done: 'ok', failed: 'bad' };

function StateBadge({ state }: { state: RolloutSummaryView['state'] }) {
  return h('span', { class: `badge ${stateTone[state]}`, 'data-rollout-state': state }, state);
}

function countdown(until: string, now: number): string {
  const s = Math.max(0, Math.round((Date.parse(until) - now) / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
}

/** A second-by-second clock for the soak countdown (only while one is shown). */
function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

/** Where the rollout is, in words: the open wave, the soak, the window, the halt. */
function whereItIs(r: RolloutSummaryView, now: number): string {
  if (r.state === 'done') return 'every wave done';
  if (r.state === 'superseded') return 'superseded by a newer commit';
  if (r.state === 'halted') return `halted: ${r.haltReason ?? ''}`;
  if (r.state === 'aborted') return r.haltReason ?? 'aborted';
  const wave = r.waves[r.current];
  if (!wave) return '';
  const prefix = r.state === 'paused' ? 'paused · ' : '';
  if (wave.openedAt !== null) return `${prefix}${wave.name} open (${r.current + 1} of ${r.waves.length})`;
  if (r.soakUntil && Date.parse(r.soakUntil) > now) return `${prefix}soaking: ${wave.name} opens in ${countdown(r.soakUntil, now)}`;
  return `${prefix}${wave.name} opens next (waiting for its window)`;
}

function WaveBar({ wave }: { wave: RolloutWaveView }) {
  const total = Math.max(1, wave.hosts);
  const parts = (['done', 'applying', 'failed', 'pending'] as const).filter((k) => wave.progress[k] > 0);
  return h(
    'div',
    { class: 'rollout-bar', role: 'img', 'aria-label': `${wave.progress.done} done, ${wave.progress.applying} applying, ${wave.progress.failed} failed, ${wave.progress.pending} pending` },
    parts.map((k) => h('span', { key: k, class: `rollout-seg tone-${progressTone[k]}`, style: { width: `${(wave.progress[k] / total) * 100}%` } })),
  );
}

function Waves({ r }: { r: RolloutSummaryView }) {
  return h(
    'table',
    { class: 'rollout-waves' },
    h('thead', null, h('tr', null, ['Wave', 'Hosts', 'Progress', 'Pending', 'Applying', 'Done', 'Failed', 'Opened', 'Closed'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
    h(
      'tbody',
      null,
      r.waves.map((w, i) =>
        h(
          'tr',
          { key: i, 'data-wave': i + 1, 'aria-current': i === r.current && r.state !== 'done' ? 'step' : undefined },
          h('th', { scope: 'row' }, w.name),
          h('td', null, String(w.hosts)),
          h('td', null, h(WaveBar, { wave: w })),
          (['pending', 'applying', 'done', 'failed'] as const).map((k) => h('td', { key: k, 'data-progress': k }, String(w.progress[k]))),
          h('td', null, w.openedAt ? h('time', { dateTime: w.openedAt, title: w.openedAt }, ago(w.openedAt)) : '—'),
          h('td', null, w.closedAt ? h('time', { dateTime: w.closedAt, title: w.closedAt }, ago(w.closedAt)) : '—'),
        ),
      ),
    ),
  );
}

function Controls({ p, r, onDone }: { p: PageProps; r: RolloutSummaryView; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (p.role !== 'admin') return null;
  const act = async (action: string) => {
    if (action === 'abort' && !window.confirm(`Abort rollout ${r.id}? It cannot be resumed.`)) return;
    setBusy(true);
    setError(null);
    try {
      await p.api.request('POST', `/api/v1/rollouts/${encodeURIComponent(r.id)}/${action}`);
      onDone();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const open = r.state === 'running' || r.state === 'paused' || r.state === 'halted';
  // A finished rollout (done, aborted, superseded) takes no action.
  if (!open) return null;
  const button = (action: string, label: string, enabled: boolean, cls = 'secondary') =>
    h('button', { type: 'button', class: cls, 'data-action': action, disabled: busy || !enabled, onClick: () => void act(action) }, label);
  return h(
    'div',
    { class: 'rollout-controls', 'data-testid': 'rollout-controls' },
    button('pause', 'Pause', r.state === 'running'),
    ' ',
    button('resume', 'Resume', r.state === 'paused' || r.state === 'halted'),
    ' ',
    button('promote', 'Promote next wave', (r.state === 'running' || r.state === 'paused') && r.current < r.waves.length),
    ' ',
    button('abort', 'Abort', true, 'danger'),
    error ? h('p', { class: 'error' }, error) : null,
  );
}

export function RolloutPage(p: PageProps & { id: string }) {
  const [version, setVersion] = useState(0);
  const [poll, setPoll] = useState(0);
  // Host statuses move the progress (the live tick); the soak and timeouts move with time: a slow poll too.
  useEffect(() => {
    const timer = setInterval(() => setPoll((n) => n + 1), 5000);
    return () => clearInterval(timer);
  }, []);
  const loaded = useFetch((signal) => p.api.request<{ rollout: RolloutSummaryView; hosts: RolloutHostView[] }>('GET', `/api/v1/rollouts/${encodeURIComponent(p.id)}`, undefined, signal), [p.id, p.tick, version, poll]);
  const r = loaded.data?.rollout ?? null;
  const now = useNow(r?.soakUntil != null);
  if (!r) return h('div', { class: 'page rollout' }, h('h1', null, `Rollout ${p.id}`), h('p', { class: loaded.error ? 'error' : 'muted' }, loaded.error ?? 'Loading…'));
  const hosts = loaded.data!.hosts;
  const notDone = hosts.filter((x) => x.progress !== 'done' || x.counted);
  return h(
    'div',
    { class: 'page rollout', 'data-rollout': r.id },
    h('h1', null, 'Rollout ', h('code', null, r.id), ' ', h(StateBadge, { state: r.state })),
    h('p', null, 'Commit ', h('code', { title: r.revision }, shortRev(r.revision)), r.subject ? ` ${r.subject}` : '', ` · ${r.hostCount} host(s) under ${r.scope === '' ? 'the tree root' : `${r.scope}/`} · created ${ago(r.createdAt)}`),
    h('p', { class: 'rollout-where', 'data-testid': 'rollout-where' }, whereItIs(r, now)),
    h('p', { 'data-testid': 'rollout-budget' }, `Failure budget: ${r.failed.length} failed of ${r.budget} allowed`, r.failed.length > 0 ? ` (${r.failed.slice(0, 10).join(', ')}${r.failed.length > 10 ? ', …' : ''})` : ''),
    h(Controls, { p, r, onDone: () => setVersion((v) => v + 1) }),
    h(Waves, { r }),
    notDone.length > 0
      ? h(
          'section',
          { 'aria-labelledby': 'rollout-hosts-h' },
          h('h2', { id: 'rollout-hosts-h' }, `Hosts not done (${notDone.length})`),
          h('ul', { class: 'rollout-hosts' }, notDone.slice(0, 200).map((x) => h('li', { key: x.id, 'data-host': x.id }, h('a', { href: hostHref(x.id) }, x.id), ` · ${x.wave} · `, h('span', { class: `badge tone-${progressTone[x.progress]}` }, x.counted ? 'counted failed' : x.progress)))),
        )
      : null,
    h(
      'section',
      { 'aria-labelledby': 'rollout-history-h' },
      h('h2', { id: 'rollout-history-h' }, 'History'),
      h('ul', { class: 'rollout-history' }, [...r.history].reverse().slice(0, 50).map((e, i) => h('li', { key: i }, h('time', { dateTime: e.at, title: e.at }, ago(e.at)), ` · ${e.by} · `, h('code', null, e.action), e.note ? ` ${e.note}` : ''))),
    ),
  );
}

export function RolloutsPage(p: PageProps) {
  const list = useFetch((signal) => p.api.request<{ rollouts: RolloutSummaryView[] }>('GET', '/api/v1/rollouts', undefined, signal), [p.tick]);
  const now = Date.now();
  return h(
    'div',
    { class: 'page rollouts' },
    h('h1', null, 'Rollouts'),
    list.error ? h('p', { class: 'error' }, list.error) : null,
    !list.data
      ? h('p', { class: 'muted' }, 'Loading…')
      : list.data.rollouts.length === 0
        ? h('p', { class: 'muted' }, 'No rollouts: the fleet repo has no rollout.yaml, or no commit since it has.')
        : h(
            'ul',
            { class: 'rollout-list' },
            list.data.rollouts.map((r) => h('li', { key: r.id, 'data-rollout': r.id }, h('a', { href: rolloutHref(r.id) }, r.id), ' ', h(StateBadge, { state: r.state }), ` ${r.subject ?? ''} · ${whereItIs(r, now)} · ${r.failed.length}/${r.budget} failed`)),
          ),
  );
}

/** The overview's banner: every active rollout, linked to its page. */
export function ActiveRollouts({ api, tick }: Pick<PageProps, 'api' | 'tick'>) {
  const list = useFetch((signal) => api.request<{ rollouts: RolloutSummaryView[] }>('GET', '/api/v1/rollouts', undefined, signal), [tick]);
  const active = (list.data?.rollouts ?? []).filter((r) => r.state === 'running' || r.state === 'paused' || r.state === 'halted');
  if (active.length === 0) return null;
  const now = Date.now();
  return h(
    'section',
    { class: 'active-rollouts', 'aria-labelledby': 'rollouts-h', 'data-testid': 'active-rollouts' },
    h('h2', { id: 'rollouts-h' }, 'Active rollouts'),
    h('ul', null, active.map((r) => h('li', { key: r.id }, h('a', { href: rolloutHref(r.id) }, `Rollout ${r.id}`), ' ', h(StateBadge, { state: r.state }), ` ${r.subject ?? ''} · ${whereItIs(r, now)}`))),
  );
}
