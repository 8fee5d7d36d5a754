// A commit's impact (docs/web.md): "this commit changes 37 hosts: prod/eu 12,
// prod/us 25; 1 container changed per host", then each resource that changes
// and each affected host with its field diffs. Everything from the repo
// (paths, names, values) is rendered as text, never as markup.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Change, FieldChange, HostImpact, Impact, PerHostCount, TagCount } from '../../../../repo/impact/types.ts';
import type { Api } from '../api.ts';
import { ago, diffValue, shortRev } from '../format.ts';
import { commitHref, hostHref } from '../route.ts';
import { useFetch } from '../use-fetch.ts';
import type { PageProps } from './context.ts';

/** The hub's answer (docs/api.md, GET /api/v1/commits/{rev}/impact). */
export interface ImpactAnswer {
  to: string;
  from: string | null;
  status: 'computing' | 'ready' | 'failed' | 'no-base';
  error?: string;
  ms?: number;
  seenAt: string;
  head: string | null;
  impact?: Impact;
  page?: { offset: number; limit: number; hosts: number };
}

const PAGE = 200;
/** While the hub computes, ask again this often. */
const POLL_MS = 1000;

const kindPlural: Record<string, string> = { container: 'containers', unit: 'units', file: 'files', network: 'networks', volume: 'volumes' };
const verb: Record<Change, string> = { added: 'added', changed: 'changed', removed: 'removed' };
const mark: Record<Change, string> = { added: '+', changed: '~', removed: '−' };

function loadImpact(api: Api, rev: string, offset: number, signal: AbortSignal): Promise<ImpactAnswer> {
  return api.request<ImpactAnswer>('GET', `/api/v1/commits/${encodeURIComponent(rev)}/impact?offset=${offset}&limit=${PAGE}`, undefined, signal);
}

function groupList(groups: TagCount[]): string {
  return groups.map((g) => `${g.tag === '' ? '(root)' : g.tag} ${g.affected}`).join(', ');
}

function perHostText(c: PerHostCount, affected: number): string {
  const n = c.min === c.max ? `${c.min}` : `${c.min}–${c.max}`;
  const noun = c.max === 1 ? c.kind : kindPlural[c.kind] ?? `${c.kind}s`;
  return `${n} ${noun} ${verb[c.change]} per host${c.hosts < affected ? ` (on ${c.hosts})` : ''}`;
}

/** The one-line summary of the issue: "this commit changes 37 hosts: prod/eu 12, prod/us 25; 3 containers changed per host". */
export function impactSentence(impact: Impact): string {
  if (impact.affected === 0) return `This commit changes no host (${impact.total} compared).`;
  const per = impact.perHost.map((c) => perHostText(c, impact.affected)).join(', ');
  return `This commit changes ${impact.affected} of ${impact.total} hosts: ${groupList(impact.groups)}; ${per}.`;
}

function Field({ f }: { f: FieldChange }) {
  return h(
    'li',
    { class: 'field' },
    h('code', null, f.path),
    ': ',
    f.from === undefined ? null : h('span', { class: 'was' }, diffValue(f.from)),
    f.from === undefined || f.to === undefined ? null : ' → ',
    f.to === undefined ? h('span', { class: 'muted' }, ' (removed)') : h('span', { class: 'now' }, diffValue(f.to)),
    f.from === undefined ? h('span', { class: 'muted' }, ' (new)') : null,
  );
}

function HostEntry({ host }: { host: HostImpact }) {
  return h(
    'li',
    { class: 'impact-host', 'data-host': host.host },
    h('a', { href: hostHref(host.host) }, host.host),
    ' ',
    h('span', { class: 'muted' }, host.dir),
    host.change === 'changed' ? null : h('span', { class: `badge change-${host.change}` }, ` host ${verb[host.change]}`),
    h(
      'ul',
      { class: 'impact-resources' },
      host.resources.map((r) =>
        h(
          'li',
          { key: r.id, 'data-resource': r.id, 'data-change': r.change },
          h('span', { class: `change change-${r.change}`, 'aria-label': r.change }, mark[r.change]),
          ' ',
          h('code', null, r.id),
          r.change === 'changed' ? null : h('span', { class: 'muted' }, ` ${verb[r.change]}`),
          r.secret ? h('span', { class: 'muted' }, ' (secret: values not shown)') : null,
          (r.fields?.length ?? 0) > 0 ? h('ul', { class: 'fields' }, r.fields!.map((f) => h(Field, { key: f.path, f }))) : null,
          r.moreFields ? h('p', { class: 'muted' }, `… ${r.moreFields} more fields`) : null,
          r.encryptedChanged ? h('p', { class: 'muted' }, 'Its encrypted file changed: the values are not decrypted, so they may differ.') : null,
        ),
      ),
    ),
  );
}

export function CommitPage({ api, rev }: PageProps & { rev: string }) {
  const [offset, setOffset] = useState(0);
  const [poll, setPoll] = useState(0);
  const answer = useFetch((signal) => loadImpact(api, rev, offset, signal), [rev, offset, poll]);
  const status = answer.data?.status;
  useEffect(() => {
    if (status !== 'computing') return;
    const timer = setTimeout(() => setPoll((p) => p + 1), POLL_MS);
    return () => clearTimeout(timer);
  }, [status, answer.data]);

  const title = h('h1', null, 'Commit ', h('code', { title: rev }, shortRev(rev)));
  if (answer.error) return h('section', { class: 'commit' }, title, h('p', { class: 'error', 'data-testid': 'impact-error' }, answer.error));
  const a = answer.data;
  if (!a) return h('section', { class: 'commit' }, title, h('p', { class: 'muted' }, 'Loading…'));
  const from = a.from ? h('p', { class: 'muted' }, 'Compared with the previous head ', h('a', { href: commitHref(a.from), 'data-testid': 'impact-from' }, h('code', { title: a.from }, shortRev(a.from))), ` · seen ${ago(a.seenAt)}${a.ms !== undefined ? ` · computed in ${a.ms} ms` : ''}`) : null;
  if (a.status === 'computing') return h('section', { class: 'commit', 'data-status': a.status }, title, from, h('p', { 'data-testid': 'impact-computing' }, 'Computing the impact of this commit…'));
  if (a.status === 'no-base' || a.status === 'failed' || !a.impact) {
    return h('section', { class: 'commit', 'data-status': a.status }, title, from, h('p', { class: a.status === 'failed' ? 'error' : 'muted', 'data-testid': 'impact-error' }, a.error ?? 'No impact for this commit.'));
  }
  const impact = a.impact;
  const total = a.page?.hosts ?? impact.hosts.length;
  return h(
    'section',
    { class: 'commit', 'data-status': a.status },
    title,
    from,
    h('p', { class: 'impact-summary', 'data-testid': 'impact-summary' }, impactSentence(impact)),
    impact.resources.length > 0
      ? h(
          'section',
          { 'aria-labelledby': 'impact-resources-h' },
          h('h2', { id: 'impact-resources-h' }, 'Resources'),
          h(
            'ul',
            { class: 'impact-summary-list', 'data-testid': 'impact-resources' },
            impact.resources.map((r) =>
              h('li', { key: `${r.id} ${r.change}` }, h('span', { class: `change change-${r.change}` }, mark[r.change]), ' ', h('code', null, r.id), ` ${verb[r.change]} on ${r.hosts} host${r.hosts === 1 ? '' : 's'}`, r.fields.length > 0 ? h('span', { class: 'muted' }, `: ${r.fields.join(', ')}`) : null),
            ),
          ),
        )
      : null,
    impact.tags.length > 0
      ? h('p', { class: 'muted', 'data-testid': 'impact-tags' }, 'Tags (affected of all): ', impact.tags.map((t) => `${t.tag} ${t.affected}/${t.hosts}`).join(', '))
      : null,
    impact.hosts.length > 0
      ? h(
          'section',
          { 'aria-labelledby': 'impact-hosts-h' },
          h('h2', { id: 'impact-hosts-h' }, `Hosts (${total})`),
          h('ul', { class: 'impact-hosts', 'data-testid': 'impact-hosts' }, impact.hosts.map((x) => h(HostEntry, { key: x.host, host: x }))),
          total > PAGE
            ? h(
                'nav',
                { class: 'pager', 'aria-label': 'affected hosts pages' },
                h('button', { type: 'button', disabled: offset === 0, onClick: () => setOffset(Math.max(0, offset - PAGE)) }, 'Previous'),
                h('span', null, ` ${offset + 1}–${Math.min(total, offset + PAGE)} of ${total} `),
                h('button', { type: 'button', disabled: offset + PAGE >= total, onClick: () => setOffset(offset + PAGE) }, 'Next'),
              )
            : null,
        )
      : null,
  );
}
