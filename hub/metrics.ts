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
  readonly coalesced = new Counter({
    name: 'gitfleet_hub_agent_statuses_coalesced_total',
    help: 'Statuses superseded by a newer one from the same host before they were stored (at most one status write per host per interval)',
    registers: [this.registry],
  });
  readonly dropped = new Counter({
    name: 'gitfleet_hub_agent_reports_dropped_total',
    help: 'Events and attempts dropped because a host sent them faster than its rate, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly throttled = new Counter({
    name: 'gitfleet_hub_agent_throttled_total',
    help: 'Times the hub stopped reading an agent connection that was over its byte or frame rate',
    registers: [this.registry],
  });
  readonly sseClients = new Gauge({ name: 'gitfleet_hub_sse_clients', help: 'Open /api/v1/events streams', registers: [this.registry] });
  readonly sseDropped = new Counter({
    name: 'gitfleet_hub_sse_dropped_total',
    help: '/api/v1/events streams closed by the hub, by reason (slow: a client that did not read; full: over the client limit)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly notifications = new Counter({
    name: 'gitfleet_hub_notifications_total',
    help: 'Notification deliveries, by sink and result (delivered; retried: a failed try that will be tried again; failed: given up; dropped: the queue was full)',
    labelNames: ['sink', 'result'] as const,
    registers: [this.registry],
  });
  readonly commitStatuses = new Counter({
    name: 'gitfleet_hub_commit_statuses_total',
    help: 'Commit statuses posted to the forge, by forge and result (delivered, retried, failed, dropped)',
    labelNames: ['forge', 'result'] as const,
    registers: [this.registry],
  });
  readonly deliveryQueue = new Gauge({ name: 'gitfleet_hub_notification_queue', help: 'Notifications and commit statuses waiting to be delivered', registers: [this.registry] });
  readonly hosts = new Gauge({ name: 'gitfleet_hub_hosts', help: 'Hosts known to the hub, by sync state', labelNames: ['sync'] as const, registers: [this.registry] });

  readonly tagHosts = new Gauge({
    name: 'gitfleet_hub_tag_hosts',
    help: 'Hosts in a tag\'s subtree, by sync state (one series per tag and state, for the trackedTags tags with the most hosts)',
    labelNames: ['tag', 'sync'] as const,
    registers: [this.registry],
  });
  readonly tagsOmitted = new Gauge({ name: 'gitfleet_hub_tags_omitted', help: 'Tags left out of gitfleet_hub_tag_hosts and the history by trackedTags (the ones with the fewest hosts)', registers: [this.registry] });
  /** Per-host series, only with hub config `metrics.perHost` (one series per host: docs/metrics.md, cardinality). */
  readonly hostSync = new Gauge({
    name: 'gitfleet_hub_host_sync',
    help: 'Per host (opt-in): 1 for the sync state the host is in, labelled with it',
    labelNames: ['host', 'sync'] as const,
    registers: [this.registry],
  });
  readonly hostOnline = new Gauge({ name: 'gitfleet_hub_host_online', help: 'Per host (opt-in): 1 when its agent is connected, else 0', labelNames: ['host'] as const, registers: [this.registry] });

  constructor(readonly options: { perHost?: boolean; trackedTags?: number } = {}) {
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these gauges *_total, which promtool's lint refuses (a _total is a counter); nodejs_active_* without it stay.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
  }
}
