// Prometheus metrics of one hub, on its own registry (no global state, so two
// hubs in one test process do not collide).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class HubMetrics {
  readonly registry = new Registry();
  // Every metric below is one of these, on this hub's registry; declared first, as fields initialise in order.
  readonly #counter = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) => new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  readonly #gauge = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) => new Gauge<L>({ name, help, labelNames, registers: [this.registry] });
  readonly agentsConnected = this.#gauge('gitfleet_hub_agents_connected', 'Agents with an authenticated connection');
  readonly messages = this.#counter('gitfleet_hub_agent_messages_total', 'Frames received from agents, by message type', ['type']);
  readonly rejected = this.#counter('gitfleet_hub_agent_rejections_total', 'Agent connections closed by the hub, by error code', ['code']);
  readonly enrollments = this.#counter('gitfleet_hub_enrollments_total', 'Hosts enrolled');
  readonly reconcileRequests = this.#counter('gitfleet_hub_reconcile_requests_total', 'reconcile-now messages sent to agents, by cause', ['cause']);
  readonly webhooks = this.#counter('gitfleet_hub_webhooks_total', 'Webhook requests, by provider and outcome', ['provider', 'outcome']);
  readonly coalesced = this.#counter('gitfleet_hub_agent_statuses_coalesced_total', 'Statuses superseded by a newer one from the same host before they were stored (at most one status write per host per interval)');
  readonly dropped = this.#counter('gitfleet_hub_agent_reports_dropped_total', 'Events and attempts dropped because a host sent them faster than its rate, by kind', ['kind']);
  readonly throttled = this.#counter('gitfleet_hub_agent_throttled_total', 'Times the hub stopped reading an agent connection that was over its byte or frame rate');
  readonly sseClients = this.#gauge('gitfleet_hub_sse_clients', 'Open /api/v1/events streams');
  readonly sseDropped = this.#counter('gitfleet_hub_sse_dropped_total', '/api/v1/events streams closed by the hub, by reason (slow: a client that did not read; full: over the client limit)', ['reason']);
  readonly notifications = this.#counter('gitfleet_hub_notifications_total', 'Notification deliveries, by sink and result (delivered; retried: a failed try that will be tried again; failed: given up; dropped: the queue was full)', ['sink', 'result']);
  readonly commitStatuses = this.#counter('gitfleet_hub_commit_statuses_total', 'Commit statuses posted to the forge, by forge and result (delivered, retried, failed, dropped)', ['forge', 'result']);
  readonly deliveryQueue = this.#gauge('gitfleet_hub_notification_queue', 'Notifications and commit statuses waiting to be delivered');
  readonly hosts = this.#gauge('gitfleet_hub_hosts', 'Hosts known to the hub, by sync state', ['sync']);

  // gitfleet_hub_tag_hosts is written by hub/fleet-gauges.ts as text (thousands of series, kept between scrapes).
  readonly tagsOmitted = this.#gauge('gitfleet_hub_tags_omitted', 'Tags left out of gitfleet_hub_tag_hosts and the history by trackedTags (the ones with the fewest hosts)');
  /** Per-host series, only with hub config `metrics.perHost` (one series per host: docs/metrics.md, cardinality). */
  readonly hostSync = this.#gauge('gitfleet_hub_host_sync', 'Per host (opt-in): 1 for the sync state the host is in, labelled with it', ['host', 'sync']);
  readonly hostOnline = this.#gauge('gitfleet_hub_host_online', 'Per host (opt-in): 1 when its agent is connected, else 0', ['host']);

  constructor(readonly options: { perHost?: boolean; trackedTags?: number } = {}) {
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these gauges *_total, which promtool's lint refuses (a _total is a counter); nodejs_active_* without it stay.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
  }
}
