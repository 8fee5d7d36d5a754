// Prometheus metrics of one hub, on its own registry (no global state, so two
// hubs in one test process do not collide).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class HubMetrics {
  readonly registry = new Registry();
  readonly agentsConnected = new Gauge({ name: 'gitfleet_hub_agents_connected', help: 'Agents with an authenticated connection', registers: [this.registry] });
  readonly messages = new Counter({
    name: 'gitfleet_hub_agent_messages_total',
    help: 'Frames received from agents, by message type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'gitfleet_hub_agent_rejections_total',
    help: 'Agent connections closed by the hub, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly enrollments = new Counter({ name: 'gitfleet_hub_enrollments_total', help: 'Hosts enrolled', registers: [this.registry] });
  readonly reconcileRequests = new Counter({
    name: 'gitfleet_hub_reconcile_requests_total',
    help: 'reconcile-now messages sent to agents, by cause',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });
  readonly webhooks = new Counter({
    name: 'gitfleet_hub_webhooks_total',
    help: 'Webhook requests, by provider and outcome',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly hosts = new Gauge({ name: 'gitfleet_hub_hosts', help: 'Hosts known to the hub, by sync state', labelNames: ['sync'] as const, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
