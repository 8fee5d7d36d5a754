// Who may call a route, decided on the route fastify matched (after it decoded
// and normalised the path), never on the raw URL. Every route declares
// `config: { access: 'public' | 'viewer' | 'admin' }`; a route without one is
// refused to everyone (default deny), so a forgotten marking fails closed.
import type { ApiRole } from './api-auth.ts';

export const routeAccesses = ['public', 'viewer', 'admin'] as const;
/** public: no token; viewer: the viewer or the admin token; admin: the admin token only. */
export type RouteAccess = (typeof routeAccesses)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

export type AccessDecision = { allow: true } | { allow: false; status: 401 | 403; code: 'AUTH_FAILED' | 'FORBIDDEN'; message: string };

export function isRouteAccess(value: unknown): value is RouteAccess {
  return typeof value === 'string' && (routeAccesses as readonly string[]).includes(value);
}

/** The decision for a request on a route declaring `access`, by the role its token grants (null: none). */
export function decideAccess(access: unknown, role: ApiRole | null): AccessDecision {
  if (access === 'public') return { allow: true };
  if (role === null) return { allow: false, status: 401, code: 'AUTH_FAILED', message: 'send "Authorization: Bearer <admin or viewer token>"' };
  if (access === 'viewer') return { allow: true };
  if (access === 'admin') {
    return role === 'admin' ? { allow: true } : { allow: false, status: 403, code: 'FORBIDDEN', message: 'the viewer token is read-only; this route needs the admin token' };
  }
  return { allow: false, status: 403, code: 'FORBIDDEN', message: 'this route declares no access and is refused by default' };
}
