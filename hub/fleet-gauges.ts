// Sets the hub's fleet gauges from the in-memory index right before a scrape:
// hosts by sync state overall and per tracked tag, and (opt-in) one series per
// host. Reset first, so a tag or host that is gone stops being exported.
import type { FleetIndex } from './fleet/fleet-index.ts';
import { hostSyncStates } from './fleet/rollup.ts';
import { DEFAULT_TRACKED_TAGS, trackedTags } from './fleet/tracked-tags.ts';
import type { HubMetrics } from './metrics.ts';

export function updateFleetGauges(metrics: HubMetrics, index: FleetIndex): void {
  const summary = index.summary();
  for (const s of hostSyncStates) metrics.hosts.set({ sync: s }, summary.sync[s]);
  metrics.tagHosts.reset();
  const { kept, omitted } = trackedTags(index.tagTree(), metrics.options.trackedTags ?? DEFAULT_TRACKED_TAGS);
  // Every state, zeros included: a rate or an alert on a state needs the series before the first host enters it.
  for (const n of kept) for (const s of hostSyncStates) metrics.tagHosts.set({ tag: n.tag, sync: s }, n.sync[s] ?? 0);
  metrics.tagsOmitted.set(omitted);
  if (!metrics.options.perHost) return;
  metrics.hostSync.reset();
  metrics.hostOnline.reset();
  for (const h of index.all()) {
    metrics.hostSync.set({ host: h.id, sync: h.sync }, 1);
    metrics.hostOnline.set({ host: h.id }, h.connectivity === 'Online' ? 1 : 0);
  }
}
