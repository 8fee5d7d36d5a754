// A real agent-side reporter in its own process, for the hub tests: runs a
// HubClient for one host id and is driven through stdin/stdout JSON lines.
//   env: HUB_URL, HOST_ID, STATE_DIR, ENROLLMENT_TOKEN?, PLACE?, TAGS? (comma list), HEARTBEAT_MS?
//   stdin:  {"status": HostStatus} | {"event": {reason, message, resource?, level?}} | {"stop": true}
//   stdout: {"ready": true} once started, {"connected": bool} on each change, {"reconcile": reason}
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { HubClient } from '../../agent/report/index.ts';
import { collectFacts } from '../../agent/facts.ts';
import type { HostStatus } from '../../shared/status.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const out = (value: unknown) => process.stdout.write(JSON.stringify(value) + '\n');

const client = new HubClient({
  url: env('HUB_URL'),
  enrollmentToken: process.env.ENROLLMENT_TOKEN,
  stateDir: env('STATE_DIR'),
  host: env('HOST_ID'),
  place: process.env.PLACE ?? '',
  tags: (process.env.TAGS ?? '').split(',').filter((t) => t !== ''),
  agentVersion: 'test-fixture',
  facts: () => collectFacts(2000),
  logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2)),
  onReconcileNow: (reason) => out({ reconcile: reason }),
  heartbeatMs: Number(process.env.HEARTBEAT_MS ?? 30_000),
  ...(process.env.MAX_QUEUE_BYTES ? { maxQueueBytes: Number(process.env.MAX_QUEUE_BYTES) } : {}),
});

let connected = false;
const keepAlive = setInterval(() => {
  if (client.connected !== connected) {
    connected = client.connected;
    out({ connected });
  }
}, 20);

client.start();
out({ ready: true });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const cmd = JSON.parse(line) as { status?: HostStatus; event?: { reason: string; message: string; resource?: string }; stop?: boolean };
  if (cmd.status) client.reportStatus(cmd.status);
  if (cmd.event) client.reportEvent(cmd.event);
  if (cmd.stop) {
    void client.stop().then(() => {
      clearInterval(keepAlive);
      out({ stopped: true });
      process.exit(0);
    });
  }
});
