// HTTP-level protections of the hub: the timeouts that bound how long a client
// may take to send a request, and the security headers every response carries
// (the web view's CSP as a header too, so it also covers API answers and
// framing, which a <meta> CSP cannot forbid).
import type { FastifyReply } from 'fastify';

/** Headers of a request must arrive within this time. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** The whole request (headers and body) must arrive within this time; then 408 and the connection is closed. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** How often node checks the two timeouts above, so a slow request is cut at most this much later. */
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** A connection with no traffic in either direction for this long is closed (the event stream sends every 15 s). */
export const IDLE_CONNECTION_TIMEOUT_MS = 60_000;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const securityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Sets the security headers on the raw response, where they survive whatever
 * the route does afterwards: fastify's own headers, error replies and routes
 * that hijack the response (the event stream) all keep them.
 */
export function setSecurityHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(securityHeaders)) reply.raw.setHeader(name, value);
}
