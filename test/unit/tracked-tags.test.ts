// Per-tag series and history are kept for the tags with the most hosts only:
// what agents report must not decide how much the hub does per scrape or minute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetIndex } from '../../hub/fleet/fleet-index.ts';
import { trackedTags } from '../../hub/fleet/tracked-tags.ts';
import { sampleFleet } from '../../hub/history/history-sampler.ts';
import { HubMetrics } from '../../hub/metrics.ts';
import { metricsText } from '../../hub/fleet-gauges.ts';
import type { HostRecord } from '../../hub/store/fleet-store.ts';

function host(id: string, tags: string[]): HostRecord {
  return { id, place: '', tags, status: null, connectivity: 'Online', lastSeen: new Date(0).toISOString(), registeredAt: new Date(0).toISOString() } as unknown as HostRecord;
}

/** 20 repo hosts under prod/eu and prod/us, and one host reporting 50 tags of its own. */
function fleet(): FleetIndex {
  const index = new FleetIndex(() => undefined);
  const hosts = Array.from({ length: 20 }, (_, i) => host(`web-${i}`, [i % 2 ? 'prod/eu' : 'prod/us']));
  hosts.push(host('odd', Array.from({ length: 50 }, (_, i) => `odd-${String(i).padStart(2, '0')}/deep`)));
  index.load(hosts);
  return index;
}

test('the tags with the most hosts are kept, then the shallower, then by name; the rest are counted', () => {
  const { kept, omitted } = trackedTags(fleet().tagTree(), 5);
  assert.deepEqual(
    kept.map((n) => n.tag),
    ['prod', 'prod/eu', 'prod/us', 'odd-00', 'odd-01'],
  );
  assert.equal(omitted, 3 + 100 - 5);
  assert.equal(trackedTags(fleet().tagTree(), 1000).omitted, 0);
});

test('/metrics exports per-tag series for the tracked tags only and says how many were left out', async () => {
  const metrics = new HubMetrics({ trackedTags: 3 });
  const text = await metricsText(metrics, fleet());
  const tagsInText = new Set([...text.matchAll(/^gitfleet_hub_tag_hosts\{tag="([^"]+)"/gm)].map((m) => m[1]));
  assert.deepEqual([...tagsInText].sort(), ['prod', 'prod/eu', 'prod/us']);
  assert.match(text, /^gitfleet_hub_tags_omitted 100$/m);
});

test('a history point holds the fleet and the tracked tags only', () => {
  const scopes = sampleFleet(fleet(), 3);
  assert.deepEqual([...scopes.keys()].sort(), ['', 'prod', 'prod/eu', 'prod/us']);
  const hostsIn = (scope: string) => Object.values(scopes.get(scope) ?? {}).reduce((a, b) => a + b, 0);
  assert.equal(hostsIn('prod'), 20);
  assert.equal(hostsIn(''), 21);
});
