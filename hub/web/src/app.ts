// The shell: login gate, navigation, the live stream, and the page for the
// current hash route.
import { h } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api } from './api.ts';
import { openLiveStream } from './live.ts';
import { parseRoute } from './route.ts';
import type { Route } from './route.ts';
import { clearSession, loadSession, saveSession } from './session.ts';
import type { Session } from './session.ts';
import type { FleetSummary } from './types.ts';
import { LoginPage } from './pages/login.ts';
import { OverviewPage } from './pages/overview.ts';
import { HostsPage } from './pages/hosts.ts';
import { HostPageView } from './pages/host.ts';
import { CommitPage } from './pages/commit.ts';
import { TagsPage } from './pages/tags.ts';
import { TokensPage } from './pages/tokens.ts';
import { AuditPage } from './pages/audit.ts';
import { RolloutPage, RolloutsPage } from './pages/rollout.ts';

/** Pages reload on live changes at most this often; the counts update on every event. */
const RELOAD_THROTTLE_MS = 700;

function useHashRoute(): [Route, string] {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return [useMemo(() => parseRoute(hash), [hash]), hash];
}

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);
  const logout = (why: string | null) => {
    clearSession();
    setNotice(why);
    setSession(null);
  };
  if (!session)
    return h(LoginPage, {
      notice,
      onLogin: (s) => {
        saveSession(s);
        setNotice(null);
        setSession(s);
      },
    });
  return h(Shell, { session, logout });
}

function Shell({ session, logout }: { session: Session; logout: (why: string | null) => void }) {
  const api = useMemo(() => new Api(session.token, () => logout('The hub no longer accepts this token; sign in again.')), [session.token]);
  const [route, hash] = useHashRoute();
  const [summary, setSummary] = useState<FleetSummary | null>(null);
  const [live, setLive] = useState(false);
  const [tick, setTick] = useState(0);
  const changed = useRef<Set<string>>(new Set());
  const [changedNow, setChangedNow] = useState<ReadonlySet<string>>(new Set());
  const lastTick = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    const flush = () => {
      timer.current = null;
      lastTick.current = Date.now();
      setChangedNow(changed.current);
      changed.current = new Set();
      setTick((t) => t + 1);
    };
    return openLiveStream(session.token, {
      summary: setSummary,
      connected: setLive,
      change: (c) => {
        setSummary(c.summary);
        for (const host of c.hosts) changed.current.add(host.id);
        if (timer.current !== null) return;
        const wait = lastTick.current + RELOAD_THROTTLE_MS - Date.now();
        if (wait <= 0) flush();
        else timer.current = setTimeout(flush, wait);
      },
    });
  }, [session.token]);

  useEffect(() => {
    // The summary also comes first thing on the stream; this covers a stream that cannot connect.
    api.summary().then((s) => setSummary((old) => old ?? s), () => {});
  }, [api]);

  const props = { api, role: session.role, summary, tick, changed: changedNow };
  let page;
  switch (route.view) {
    case 'overview':
      page = h(OverviewPage, props);
      break;
    case 'tags':
      page = h(TagsPage, props);
      break;
    case 'hosts':
      page = h(HostsPage, { ...props, key: hash, initial: route, commitUrl: session.commitUrl ?? null });
      break;
    case 'host':
      page = h(HostPageView, { ...props, key: route.id, id: route.id });
      break;
    case 'commit':
      page = h(CommitPage, { ...props, key: route.rev, rev: route.rev });
      break;
    case 'tokens':
      page = h(TokensPage, props);
      break;
    case 'audit':
      page = h(AuditPage, props);
      break;
    case 'rollouts':
      page = h(RolloutsPage, props);
      break;
    case 'rollout':
      page = h(RolloutPage, { ...props, key: route.id, id: route.id });
      break;
  }
  const nav = (href: string, label: string, active: boolean) => h('a', { href, 'aria-current': active ? 'page' : undefined }, label);
  return h(
    'div',
    { class: 'shell' },
    h('a', { class: 'skip', href: '#main', onClick: (e: Event) => { e.preventDefault(); document.getElementById('main')?.focus(); } }, 'Skip to content'),
    h(
      'header',
      { class: 'top' },
      h('a', { class: 'brand', href: '#/' }, 'gitfleet'),
      h('nav', { 'aria-label': 'main' }, nav('#/', 'Overview', route.view === 'overview'), nav('#/hosts', 'Hosts', route.view === 'hosts'), nav('#/tags', 'Tags', route.view === 'tags'), nav('#/rollouts', 'Rollouts', route.view === 'rollouts' || route.view === 'rollout'), session.role === 'admin' ? nav('#/tokens', 'Tokens', route.view === 'tokens') : null, session.role === 'admin' ? nav('#/audit', 'Audit', route.view === 'audit') : null),
      h('span', { class: `live ${live ? 'on' : 'off'}`, 'data-live': live ? 'on' : 'off', title: live ? 'live updates on' : 'live updates reconnecting' }, live ? '● live' : '○ offline'),
      h('span', { class: 'role', 'data-role': session.role }, session.role === 'admin' ? 'admin' : 'viewer (read-only)'),
      h('button', { type: 'button', class: 'secondary', onClick: () => logout(null) }, 'Sign out'),
    ),
    h('main', { id: 'main', tabIndex: -1 }, page),
  );
}
