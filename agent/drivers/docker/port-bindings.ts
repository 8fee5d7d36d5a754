// Compose's short port syntax → ExposedPorts + PortBindings.
//   "80"  "8080:80"  "127.0.0.1:8080:80"  "[::1]:8080:80"  "53:53/udp"
//   "8000-8002:9000-9002"  "127.0.0.1::80" (ephemeral host port)  80 (number)
import { invalid } from './quantities.ts';

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export interface PortConfig {
  exposedPorts: Record<string, Record<string, never>>;
  portBindings: Record<string, PortBinding[]>;
}

const protocols = new Set(['tcp', 'udp', 'sctp']);

export function translatePorts(ports: Array<string | number>): PortConfig {
  const config: PortConfig = { exposedPorts: {}, portBindings: {} };
  for (const entry of ports) {
    for (const { container, hostIp, hostPort } of parsePort(entry)) {
      config.exposedPorts[container] = {};
      (config.portBindings[container] ??= []).push({ HostIp: hostIp, HostPort: hostPort });
    }
  }
  return config;
}

function parsePort(entry: string | number): Array<{ container: string; hostIp: string; hostPort: string }> {
  const text = String(entry);
  const bad = (why: string) => invalid('ports', entry, `a port like "8080:80", "127.0.0.1:8080:80/udp" or 80 (${why})`);
  let rest = text;
  let protocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    protocol = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (!protocols.has(protocol)) throw bad(`unknown protocol ${protocol}`);
  }
  let hostIp = '';
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']:');
    if (close < 0) throw bad('an IPv6 address needs brackets followed by a colon');
    hostIp = rest.slice(1, close);
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  let hostPart = '';
  let containerPart: string;
  if (parts.length === 1) containerPart = parts[0] as string;
  else if (parts.length === 2) [hostPart, containerPart] = parts as [string, string];
  else if (parts.length === 3 && hostIp === '') [hostIp, hostPart, containerPart] = parts as [string, string, string];
  else throw bad('too many colons');
  if (hostIp !== '' && !/^[0-9.]+$|^[0-9a-fA-F:]+$/.test(hostIp)) throw bad(`${hostIp} is not an IP address`);

  const containerRange = parseRange(containerPart, bad);
  const hostRange = hostPart === '' ? null : parseRange(hostPart, bad);
  if (hostRange && hostRange.length !== containerRange.length) {
    throw bad('the host and container ranges differ in length');
  }
  return containerRange.map((port, i) => ({
    container: `${port}/${protocol}`,
    hostIp,
    hostPort: hostRange === null ? '' : String(hostRange[i]),
  }));
}

function parseRange(text: string, bad: (why: string) => Error): number[] {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) throw bad(`${JSON.stringify(text)} is not a port or range`);
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  if (from < 1 || to > 65535 || to < from) throw bad(`${text} is outside 1–65535 or reversed`);
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
