// The hub's fleet gauges, from the in-memory index at scrape time: hosts by
// sync state overall and per tracked tag, and (opt-in) one series per host.
// Reset first, so a tag or host that is gone stops being exported.
//
// The per-tag block (up to trackedTags × 8 series) is written as text by hand
// and kept until the tag tree changes, rebuilt at most once a second: through
// prom-client every scrape rebuilt thousands of labelled series, and a client
// scraping several times a second while hosts report grew the hub's heap by
// tens of MiB. The per-tag counts are at most a second old.
import type { FleetIndex } from './fleet/fleet-index.ts';
import { hostSyncStates } from './fleet/rollup.ts';
import type { TagNode } from './fleet/rollup.ts';
import { DEFAULT_TRACKED_TAGS, trackedTags } from './fleet/tracked-tags.ts';
import type { HubMetrics } from './metrics.ts';

const TAG_HOSTS = 'gitfleet_hub_tag_hosts';
const TAG_HOSTS_HELP = "Hosts in a tag's subtree, by sync state (one series per tag and state, for the trackedTags tags with the most hosts)";

/** A label value as the text format wants it (backslash, double quote and line feed escaped). */
const labelValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** How old the per-tag block may be while the tree keeps changing. */
export const TAG_BLOCK_MAX_AGE_MS = 1000;

const blocks = new WeakMap<HubMetrics, { tree: readonly TagNode[]; at: number; text: string }>();

function tagBlock(metrics: HubMetrics, tree: readonly TagNode[], now: number): string {
  const cached = blocks.get(metrics);
  if (cached && (cached.tree === tree || now - cached.at < TAG_BLOCK_MAX_AGE_MS)) return cached.text;
  const { kept, omitted } = trackedTags(tree, metrics.options.trackedTags ?? DEFAULT_TRACKED_TAGS);
  const lines = [`# HELP ${TAG_HOSTS} ${TAG_HOSTS_HELP}`, `# TYPE ${TAG_HOSTS} gauge`];
  // Every state, zeros included: a rate or an alert on a state needs the series before the first host enters it.
  for (const n of kept) {
    const tag = labelValue(n.tag);
    for (const s of hostSyncStates) lines.push(`${TAG_HOSTS}{tag="${tag}",sync="${s}"} ${n.sync[s] ?? 0}`);
  }
  const text = lines.join('\n') + '\n';
  metrics.tagsOmitted.set(omitted);
  blocks.set(metrics, { tree, at: now, text });
  return text;
}

/** Sets the gauges; returns the per-tag block to append to the registry's text. `now`: for tests. */
export function updateFleetGauges(metrics: HubMetrics, index: FleetIndex, now = Date.now()): string {
  const summary = index.summary();
  for (const s of hostSyncStates) metrics.hosts.set({ sync: s }, summary.sync[s]);
  const block = tagBlock(metrics, index.tagTree(), now);
  if (metrics.options.perHost) {
    metrics.hostSync.reset();
    metrics.hostOnline.reset();
    for (const h of index.all()) {
      metrics.hostSync.set({ host: h.id, sync: h.sync }, 1);
      metrics.hostOnline.set({ host: h.id }, h.connectivity === 'Online' ? 1 : 0);
    }
  }
  return block;
}

/** The whole /metrics text: the registry's metrics and the per-tag block. */
export async function metricsText(metrics: HubMetrics, index: FleetIndex, now = Date.now()): Promise<string> {
  const block = updateFleetGauges(metrics, index, now);
  return (await metrics.registry.metrics()) + block;
}
