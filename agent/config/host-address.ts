// Addresses in the agent's configuration: `host:port` listen addresses and
// whether a host name stays on this machine (a hub over ws:// and the metrics
// endpoint are allowed there without further consent).

/** `127.0.0.1:9464` or `[::1]:9464` → host (without brackets) and port. */
export function splitHostPort(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  return { host: listen.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(listen.slice(colon + 1)) };
}

/** localhost (and *.localhost), 127.0.0.0/8, ::1 and its IPv4-mapped form; brackets allowed. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::1' || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
