// Who is on the other end of a request. Behind a load balancer every
// connection comes from the balancer's address, so per-address bounds (failed
// tokens, agents waiting for their hello, enrollments) would be shared by every
// client and the audit log would name the balancer. With hub config
// `trustedProxies`, the address a trusted proxy forwards (X-Forwarded-For) is
// the client's; a header from anyone else is ignored, so it cannot be forged.
import type { IncomingMessage } from 'node:http';
import proxyaddr from '@fastify/proxy-addr';

export type ClientAddress = (req: IncomingMessage) => string;

/** Throws on an entry that is not an address, a CIDR range or a proxy-addr name (loopback, linklocal, uniquelocal). */
export function compileTrustedProxies(trusted: readonly string[]): ((addr: string, i: number) => boolean) | null {
  return trusted.length === 0 ? null : proxyaddr.compile([...trusted]);
}

export function clientAddressOf(trusted: readonly string[]): ClientAddress {
  const trust = compileTrustedProxies(trusted);
  if (trust === null) return (req) => req.socket.remoteAddress ?? '?';
  return (req) => proxyaddr(req, trust);
}
