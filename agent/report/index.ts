// The agent's hub client: what the daemon uses to report to a hub.
export { HubClient, type HubClientOptions } from './hub-client.ts';
export { ReportQueue, DEFAULT_MAX_QUEUE_BYTES } from './report-queue.ts';
