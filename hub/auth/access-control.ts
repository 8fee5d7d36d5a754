// Installs the hub's request gate on a fastify instance: security headers on
// every response, then the access decision for the route fastify matched
// (route-access.ts), with failed tokens throttled per address
// (failure-throttle.ts). Also records every route with its access, so tests
// can check each one and nothing registered goes unnoticed.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { sendError } from '../api/context.ts';
import type { ApiAuth } from './api-auth.ts';
import { FailureThrottle } from './failure-throttle.ts';
import { setSecurityHeaders } from './http-hardening.ts';
import { decideAccess, isRouteAccess } from './route-access.ts';
import type { RouteAccess } from './route-access.ts';

export interface RouteEntry {
  method: string;
  url: string;
  /** null: the route declares none and is refused to everyone. */
  access: RouteAccess | null;
}

export interface AccessControl {
  /** Every route registered after installation, HEAD twins included. */
  routes: readonly RouteEntry[];
  throttle: FailureThrottle;
}

/** Call before any route is registered: routes added earlier are not recorded. */
export function installAccessControl(
  app: FastifyInstance,
  o: { auth: ApiAuth; logger: Logger; throttle?: FailureThrottle; onTokenRefused?: (req: FastifyRequest) => void },
): AccessControl {
  const routes: RouteEntry[] = [];
  const throttle =
    o.throttle ??
    new FailureThrottle({
      onLimitReached: (address, failures, retryAfter) =>
        o.logger.warn(
          { remote: address, failures, retryAfterSeconds: retryAfter },
          `${failures} failed API tokens from ${address} within ${throttle.windowMs / 1000} s: its token-protected requests are answered 429 for ${retryAfter} s`,
        ),
    });

  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routes.push({ method, url: route.url, access: isRouteAccess(access) ? access : null });
    if (!isRouteAccess(access)) o.logger.error({ route: `${methods.join(',')} ${route.url}` }, 'route declares no access (config.access); it is refused to everyone');
  });

  app.addHook('onRequest', async (req, reply) => {
    setSecurityHeaders(reply);
    // The not-found handler has no route config; it only answers 404 and reveals nothing.
    const access = req.is404 ? 'public' : req.routeOptions.config.access;
    if (access === 'public') return;
    const retryAfter = throttle.retryAfter(req.ip);
    if (retryAfter !== null) {
      reply.header('retry-after', String(retryAfter));
      await sendError(reply, 429, 'RATE_LIMITED', `too many failed tokens from this address; retry in ${retryAfter} s`);
      return reply;
    }
    const authorization = req.headers.authorization;
    const role = o.auth.roleOf(authorization);
    // Only a presented, wrong token counts as a guess; a missing one is a client that has not logged in.
    if (role === null && authorization !== undefined) {
      throttle.fail(req.ip);
      o.onTokenRefused?.(req);
    }
    const decision = decideAccess(access, role);
    if (!decision.allow) {
      await sendError(reply, decision.status, decision.code, decision.message);
      return reply;
    }
  });

  return { routes, throttle };
}
