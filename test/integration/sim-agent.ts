// A simulated agent inside the test process, for hub tests that need a few
// hosts reporting without a process each: a real WebSocket to the hub's
// /agent endpoint speaking the real protocol (hello with the enrollment
// token, statuses numbered in one seq space, heartbeats), so the hub cannot
// tell it from an agent. It does not resend unacked reports after a
// reconnect: tests that need that use hub-agent-fixture.ts.
import WebSocket from 'ws';
import { PROTOCOL_VERSION, encodeMessage, parseHubMessage } from '../../shared/protocol.ts';
import type { AgentMessage } from '../../shared/protocol.ts';
import type { HostStatus } from '../../shared/status.ts';
import { emptyFacts } from '../../agent/facts.ts';

export interface SimAgent {
  host: string;
  /** The credential the hub gave on enrollment (pass it to connect again, e.g. through another hub replica). */
  credential: string | undefined;
  acked(): number;
  report(status: HostStatus): number;
  close(): void;
}

export async function connectSimAgent(o: { agentUrl: string; host: string; token: string; place?: string; heartbeatMs?: number; credential?: string | undefined }): Promise<SimAgent> {
  const ws = new WebSocket(o.agentUrl, { perMessageDeflate: false });
  let seq = 0;
  let credential = o.credential;
  let acked = 0;
  const welcomed = new Promise<void>((resolve, reject) => {
    ws.on('open', () => {
      const hello: AgentMessage = { type: 'hello', protocol: PROTOCOL_VERSION, host: o.host, agentVersion: 'sim', place: o.place ?? '', tags: [], facts: emptyFacts(), droppedEvents: 0, ...(credential === undefined ? { enrollmentToken: o.token } : { credential }) };
      ws.send(encodeMessage(hello));
    });
    ws.on('message', (data: Buffer) => {
      const m = parseHubMessage(data);
      if (m.type === 'welcome') {
        credential ??= m.hostCredential;
        // Reconnected: number on from what the hub stored (it refuses what it has).
        seq = Math.max(seq, m.lastSeq);
        resolve();
      }
      else if (m.type === 'ack') acked = Math.max(acked, m.seq);
      else if (m.type === 'error') reject(new Error(`${o.host}: hub error ${m.code}: ${m.message}`));
    });
    ws.on('error', reject);
  });
  await welcomed;
  const beat = setInterval(() => {
    if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"heartbeat"}');
  }, o.heartbeatMs ?? 1000);
  beat.unref();
  return {
    host: o.host,
    get credential() {
      return credential;
    },
    acked: () => acked,
    report(status) {
      seq++;
      ws.send(encodeMessage({ type: 'status', seq, status }));
      return seq;
    },
    close() {
      clearInterval(beat);
      ws.terminate();
    },
  };
}

/** A status of `host` that applied `applied`, or failed on `failedOn` (a failed resource, Ready false). */
export function simStatus(host: string, o: { applied: string | null; failedOn?: string; message?: string }): HostStatus {
  const now = new Date().toISOString();
  const failed = o.failedOn !== undefined;
  return {
    host,
    place: '',
    tags: [],
    conditions: [{ type: 'Ready', status: !failed, reason: failed ? 'ApplyFailed' : 'Converged', message: o.message ?? (failed ? 'container/web: start failed' : 'ok'), lastTransitionTime: now }],
    lastAppliedRevision: o.applied,
    lastAttemptedRevision: o.failedOn ?? o.applied,
    resources: [{ id: 'container/web', sync: failed ? 'Failed' : 'InSync', health: 'Healthy', diff: [] }],
    attempts: [],
    updatedAt: now,
  };
}
