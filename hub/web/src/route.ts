// Hash routes, so every page is a plain link and the hub needs no server-side
// routing: #/ overview, #/hosts?tag=&state=&q=&sort=&order=&page=, #/host/ID, #/commit/REV,
// #/tags, #/tokens (admins: enrollment tokens), #/audit (admins: the audit log),
// #/rollouts, #/rollout/ID (staged rollouts).
export type Route =
  | { view: 'overview' }
  | { view: 'hosts'; tag: string; state: string[]; q: string; sort: string; order: 'asc' | 'desc'; page: number }
  | { view: 'host'; id: string }
  | { view: 'commit'; rev: string }
  | { view: 'tags' }
  | { view: 'tokens' }
  | { view: 'audit' }
  | { view: 'rollouts' }
  | { view: 'rollout'; id: string };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?', 2);
  const p = new URLSearchParams(query);
  if (path.startsWith('/host/')) return { view: 'host', id: decodeURIComponent(path.slice('/host/'.length)) };
  if (path.startsWith('/commit/')) return { view: 'commit', rev: decodeURIComponent(path.slice('/commit/'.length)) };
  if (path === '/tags') return { view: 'tags' };
  if (path === '/tokens') return { view: 'tokens' };
  if (path === '/audit') return { view: 'audit' };
  if (path === '/rollouts') return { view: 'rollouts' };
  if (path.startsWith('/rollout/')) return { view: 'rollout', id: decodeURIComponent(path.slice('/rollout/'.length)) };
  if (path === '/hosts') {
    return {
      view: 'hosts',
      tag: p.get('tag') ?? '',
      state: (p.get('state') ?? '').split(',').filter((s) => s !== ''),
      q: p.get('q') ?? '',
      sort: p.get('sort') ?? 'id',
      order: p.get('order') === 'desc' ? 'desc' : 'asc',
      page: Math.max(0, Number(p.get('page') ?? 0) || 0),
    };
  }
  return { view: 'overview' };
}

export function hostsHref(o: { tag?: string; state?: string[]; q?: string; sort?: string; order?: string; page?: number } = {}): string {
  const p = new URLSearchParams();
  if (o.tag) p.set('tag', o.tag);
  if (o.state && o.state.length > 0) p.set('state', o.state.join(','));
  if (o.q) p.set('q', o.q);
  if (o.sort && o.sort !== 'id') p.set('sort', o.sort);
  if (o.order === 'desc') p.set('order', 'desc');
  if (o.page) p.set('page', String(o.page));
  const s = p.toString();
  return `#/hosts${s ? `?${s}` : ''}`;
}

/** A commit's impact page (pages/commit.ts). */
export function commitHref(rev: string): string {
  return `#/commit/${encodeURIComponent(rev)}`;
}

/** A staged rollout's page (pages/rollout.ts). */
export function rolloutHref(id: string): string {
  return `#/rollout/${encodeURIComponent(id)}`;
}

export function hostHref(id: string): string {
  return `#/host/${encodeURIComponent(id)}`;
}
