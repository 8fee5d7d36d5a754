// Which /28 blocks of TEST-NET-1 (192.0.2.0/24) a test may give a bridge in the
// root network namespace. The machine's own link may itself be in TEST-NET-1
// (the CI VMs' eth0 is 192.0.2.2/24, gateway 192.0.2.1): a bridge holding the
// gateway's or the machine's address would take the machine off its network for
// as long as the bridge exists. So a block holding any address of this machine
// or its default gateway is never offered.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/** The last octet of each 192.0.2.x address this machine has or routes through. */
function testNetAddressesInUse(): number[] {
  const octets: number[] = [];
  const add = (address: string) => {
    const m = /^192\.0\.2\.(\d+)$/.exec(address);
    if (m) octets.push(Number(m[1]));
  };
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') add(a.address);
  // /proc/net/route: gateways as little-endian hex (010200C0 is 192.0.2.1).
  let routes = '';
  try {
    routes = readFileSync('/proc/net/route', 'utf8');
  } catch {
    // Not Linux or no procfs: only the interface addresses are known.
  }
  for (const line of routes.split('\n').slice(1)) {
    const hex = line.split('\t')[2];
    if (!hex || !/^[0-9A-F]{8}$/i.test(hex) || hex === '00000000') continue;
    const n = Number.parseInt(hex, 16);
    add([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.'));
  }
  return octets;
}

/** Start offsets (0, 16, … 240) of the /28 blocks holding none of this machine's TEST-NET-1 addresses. */
export function freeTestNetBlocks(): number[] {
  const used = testNetAddressesInUse();
  return Array.from({ length: 16 }, (_, i) => i * 16).filter((start) => !used.some((o) => o >= start && o < start + 16));
}
