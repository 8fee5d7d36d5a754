// Connects the daemon to the hub when one is configured: status snapshots and
// events go up, reconcile-now comes down. The hub is never on the critical path.
import type { AgentDaemon } from '../loop/agent-daemon.ts';
import type { AgentParts } from '../main.ts';

export interface HubLink {
  stop(): Promise<void>;
}

export function startHubLink(_agent: AgentParts, _daemon: AgentDaemon, _version: string): HubLink | null {
  return null;
}
