// The login: a token the operator types, kept in sessionStorage (gone when the
// tab closes, never in a cookie, so no CSRF surface) with the role it grants.
import type { Role } from './types.ts';

const KEY = 'gitfleet.session';

export interface Session {
  token: string;
  role: Role;
  /** Commit link template from the hub (`{rev}` is replaced), when it has one. */
  commitUrl?: string | null;
}

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.token !== 'string' || (s.role !== 'admin' && s.role !== 'viewer')) return null;
    return { token: s.token, role: s.role, commitUrl: typeof s.commitUrl === 'string' ? s.commitUrl : null };
  } catch {
    return null;
  }
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}
