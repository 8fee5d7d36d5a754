// The hub's fleet gauges at scrape time: per tag always (every state, zeros
// included), per host only when opted in, and a tag or host that is gone
// stops being exported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetIndex } from '../../hub/fleet/fleet-index.ts';
import { metricsText } from '../../hub/fleet-gauges.ts';
import { HubMetrics } from '../../hub/metrics.ts';
import type { HostStatus } from '../../shared/status.ts';

function host(index: FleetIndex, id: string, tag: string, sync: 'InSync' | 'Failed'): void {
  index.hello(id, { place: `${tag}/${id}`, tags: [tag], agentVersion: 't', seenAt: new Date().toISOString() });
  index.status(id, { host: id, place: `${tag}/${id}`, tags: [tag], conditions: [], lastAppliedRevision: null, lastAttemptedRevision: null, resources: [{ id: 'file/x', sync, health: 'Healthy', diff: [] }], attempts: [], updatedAt: new Date().toISOString() } as HostStatus);
}

test('per-tag gauges always, per-host series only when opted in; gone tags and hosts disappear', async () => {
  const index = new FleetIndex(() => {}, { summaryMaxAgeMs: 0 });
  host(index, 'web-01', 'prod/eu', 'InSync');
  host(index, 'db-01', 'lab', 'Failed');
  const off = new HubMetrics();
  const text = await metricsText(off, index);
  assert.match(text, /^gitfleet_hub_tag_hosts\{tag="prod\/eu",sync="InSync"\} 1$/m);
  assert.match(text, /^gitfleet_hub_tag_hosts\{tag="prod\/eu",sync="Failed"\} 0$/m);
  assert.match(text, /^gitfleet_hub_tag_hosts\{tag="lab",sync="Failed"\} 1$/m);
  assert.doesNotMatch(text, /^gitfleet_hub_host_sync\{/m, 'no per-host series unless opted in');
  assert.doesNotMatch(text, /nodejs_active_handles_total/, 'the gauge promtool refuses is gone');

  const on = new HubMetrics({ perHost: true });
  assert.match(await metricsText(on, index), /^gitfleet_hub_host_sync\{host="db-01",sync="Failed"\} 1$/m);
  index.remove('db-01');
  // Within a second the per-tag block may be the previous one; after it, the gone tag is gone.
  const after = await metricsText(on, index, Date.now() + 1001);
  assert.doesNotMatch(after, /db-01/);
  assert.doesNotMatch(after, /tag="lab"/);
});
