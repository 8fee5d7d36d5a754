// Fleet overview: counts by state (each a link to the filtered hosts table),
// the head revision and when it changed, recent failures and the tag roll-up.
import { h } from 'preact';
import type { FleetSummary } from '../types.ts';
import { ago, shortRev } from '../format.ts';
import { commitHref, hostHref, hostsHref } from '../route.ts';
import { HostStateBadges } from '../components/badges.ts';
import { TagTree } from '../components/tag-tree.ts';
import { NotificationStatus } from '../components/notification-status.ts';
import { useFetch } from '../use-fetch.ts';
import { FleetHistory } from '../components/fleet-history.ts';
import { ActiveRollouts } from './rollout.ts';
import type { PageProps } from './context.ts';

interface Card {
  key: string;
  label: string;
  count: (s: FleetSummary) => number;
  /** The hosts-table filter the card links to. */
  state: string;
  tone: string;
}

/** The states an operator scans for first, in the issue's order. */
export const overviewCards: Card[] = [
  { key: 'InSync', label: 'In sync', count: (s) => s.sync.InSync, state: 'InSync', tone: 'ok' },
  { key: 'Drifted', label: 'Drifted', count: (s) => s.sync.Drifted + s.sync.Missing, state: 'Drifted,Missing', tone: 'warn' },
  { key: 'OutOfSync', label: 'Out of sync', count: (s) => s.sync.OutOfSync ?? 0, state: 'OutOfSync', tone: 'info' },
  { key: 'Failed', label: 'Failed', count: (s) => s.sync.Failed, state: 'Failed', tone: 'bad' },
  { key: 'Reconciling', label: 'Reconciling', count: (s) => s.reconciling ?? 0, state: 'Reconciling', tone: 'info' },
  { key: 'Offline', label: 'Offline', count: (s) => s.connectivity.Offline, state: 'Offline', tone: 'warn' },
  { key: 'Behind', label: 'Behind head', count: (s) => s.behind, state: 'Behind', tone: 'info' },
  { key: 'NeverSeen', label: 'Never seen', count: (s) => s.connectivity.NeverSeen, state: 'NeverSeen', tone: 'muted' },
];

function Counts({ summary }: { summary: FleetSummary }) {
  return h(
    'ul',
    { class: 'cards', 'aria-label': 'hosts by state' },
    overviewCards.map((c) =>
      h(
        'li',
        { key: c.key },
        h(
          'a',
          { class: `card tone-${c.tone}`, href: hostsHref({ state: c.state.split(',') }), 'data-count': c.key },
          h('span', { class: 'card-n' }, String(c.count(summary))),
          h('span', { class: 'card-label' }, c.label),
        ),
      ),
    ),
    h('li', null, h('a', { class: 'card tone-muted', href: hostsHref(), 'data-count': 'Total' }, h('span', { class: 'card-n' }, String(summary.total)), h('span', { class: 'card-label' }, 'All hosts'))),
  );
}

function Head({ summary }: { summary: FleetSummary }) {
  const head = summary.head;
  if (!head) return h('p', { class: 'muted' }, 'The hub follows no repository head (no repo configured, or not read yet).');
  return h(
    'div',
    { class: 'head', 'data-testid': 'head' },
    h('span', null, 'Head ', h('code', { title: head.revision }, shortRev(head.revision))),
    head.subject ? h('span', { class: 'head-subject' }, ` ${head.subject}`) : null,
    head.committedAt ? h('span', { class: 'muted' }, ` · committed ${ago(head.committedAt)}`) : null,
    h('span', null, ' · ', h('a', { href: commitHref(head.revision), 'data-testid': 'head-impact' }, 'what this commit changes')),
    h(HeadIssues, { issues: head.issues.filter((i) => !isRolloutIssue(i)), testid: 'head-issues', summary: 'validation issue(s) at head — agents refuse this commit' }),
    h(HeadIssues, { issues: head.issues.filter(isRolloutIssue), testid: 'rollout-issues', summary: 'rollout.yaml issue(s) at head — agents still apply this commit; the hosts below an invalid rollout.yaml are held at what they run' }),
  );
}

/** An issue in a rollout.yaml ("prod/rollout.yaml:3:5  CODE  message"): the hub reads that file, agents do not refuse for it. */
const isRolloutIssue = (issue: string): boolean => /^(?:[^\s:]*\/)?rollout\.yaml:/.test(issue);

function HeadIssues({ issues, testid, summary }: { issues: string[]; testid: string; summary: string }) {
  if (issues.length === 0) return null;
  return h('details', { class: 'issues', 'data-testid': testid }, h('summary', null, `${issues.length} ${summary}`), h('ul', null, issues.map((i, n) => h('li', { key: n }, i))));
}

function RecentFailures({ api, tick }: Pick<PageProps, 'api' | 'tick'>) {
  const failed = useFetch((signal) => api.hosts({ state: ['Failed'], sort: 'statusUpdatedAt', order: 'desc', limit: 10 }, signal), [tick]);
  if (failed.error) return h('p', { class: 'error' }, failed.error);
  const hosts = failed.data?.hosts ?? [];
  return h(
    'section',
    { 'aria-labelledby': 'failures-h' },
    h('h2', { id: 'failures-h' }, 'Recent failures'),
    hosts.length === 0
      ? h('p', { class: 'muted', 'data-testid': 'no-failures' }, failed.loading ? 'Loading…' : 'No host is failing.')
      : h(
          'ul',
          { class: 'failures', 'data-testid': 'failures' },
          hosts.map((x) => h('li', { key: x.id }, h('a', { href: hostHref(x.id) }, x.id), ' ', h(HostStateBadges, { host: x }), ' ', h('span', { class: 'muted' }, `updated ${ago(x.statusUpdatedAt)}`))),
        ),
    (failed.data?.total ?? 0) > hosts.length ? h('a', { href: hostsHref({ state: ['Failed'] }) }, `all ${failed.data!.total} failed hosts`) : null,
  );
}

export function OverviewPage(p: PageProps) {
  const tags = useFetch(() => p.api.tags(), [p.tick]);
  if (!p.summary) return h('p', { 'aria-busy': 'true' }, 'Loading the fleet…');
  return h(
    'div',
    { class: 'page overview' },
    h('h1', null, 'Fleet'),
    h(Head, { summary: p.summary }),
    h(ActiveRollouts, { api: p.api, tick: p.tick }),
    h(Counts, { summary: p.summary }),
    h(FleetHistory, { api: p.api, tag: '' }),
    h(RecentFailures, { api: p.api, tick: p.tick }),
    h(NotificationStatus, { api: p.api, tick: p.tick }),
    h('section', { 'aria-labelledby': 'tags-h' }, h('h2', { id: 'tags-h' }, 'Tags'), tags.data ? h(TagTree, { tags: tags.data.tags, crossTags: tags.data.crossTags ?? [] }) : h('p', { class: 'muted' }, tags.error ?? 'Loading…')),
  );
}
