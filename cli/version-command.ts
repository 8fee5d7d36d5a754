// `gitfleet version`: what this binary is — the release, the agent–hub
// protocol range it speaks, the Node.js it runs on — for bug reports and for
// checking an agent against a hub.
import { parseCommandArgs } from '../repo/cli/args.ts';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../shared/protocol.ts';

export const usage = `usage: gitfleet version [--json]

Prints the gitfleet release (the agent's version as it reports it to the hub), the agent–hub
protocol versions it speaks, and the Node.js runtime.`;

export function versionInfo() {
  return {
    version: process.env.GITFLEET_VERSION ?? '0.1.0',
    protocol: { min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION },
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('version', argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return Promise.resolve(0);
  }
  const v = versionInfo();
  const protocol = v.protocol.min === v.protocol.max ? `${v.protocol.max}` : `${v.protocol.min}–${v.protocol.max}`;
  process.stdout.write(values.json ? `${JSON.stringify(v, null, 2)}\n` : `gitfleet ${v.version}\nprotocol ${protocol}\nnode ${v.node} ${v.platform}\n`);
  return Promise.resolve(0);
}
