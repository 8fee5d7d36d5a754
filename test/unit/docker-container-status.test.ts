// The list's Status text and the inspect cache that trusts it: a cached inspect
// is reused only while the text is consistent with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerInfo, ContainerInspectInfo } from 'dockerode';
import { humanDurationUpperMs, parseContainerStatus } from '../../agent/drivers/docker/container-status.ts';
import { InspectCache } from '../../agent/drivers/docker/inspect-cache.ts';

test('Status text → health, exit code, elapsed upper bound', () => {
  const cases: Array<[string, ReturnType<typeof parseContainerStatus>]> = [
    ['Up 5 seconds', { health: null, exitCode: null, elapsedUpperMs: 6000 }],
    ['Up Less than a second', { health: null, exitCode: null, elapsedUpperMs: 1000 }],
    ['Up About a minute (healthy)', { health: 'healthy', exitCode: null, elapsedUpperMs: 120_000 }],
    ['Up 3 hours (unhealthy)', { health: 'unhealthy', exitCode: null, elapsedUpperMs: 4 * 3_600_000 }],
    ['Up 2 seconds (health: starting)', { health: 'starting', exitCode: null, elapsedUpperMs: 3000 }],
    ['Up 2 minutes (Paused)', { health: null, exitCode: null, elapsedUpperMs: 180_000 }],
    ['Exited (137) 5 days ago', { health: null, exitCode: 137, elapsedUpperMs: 6 * 86_400_000 }],
    ['Exited (0) About an hour ago', { health: null, exitCode: 0, elapsedUpperMs: 2 * 3_600_000 }],
    ['Created', { health: null, exitCode: null, elapsedUpperMs: null }],
    ['Restarting (1) 2 seconds ago', { health: null, exitCode: null, elapsedUpperMs: null }],
    ['Removal In Progress', { health: null, exitCode: null, elapsedUpperMs: null }],
  ];
  for (const [status, want] of cases) assert.deepEqual(parseContainerStatus(status), want, status);
  assert.equal(humanDurationUpperMs('2 weeks'), 3 * 604_800_000);
  assert.equal(humanDurationUpperMs('soon'), null);
});

const t0 = Date.parse('2030-01-01T00:00:00Z');

function inspectInfo(over: { status: string; startedAt?: string; finishedAt?: string; exitCode?: number; restartCount?: number; health?: string }): ContainerInspectInfo {
  return {
    Id: 'c1', Name: '/web', Image: 'sha256:img', RestartCount: over.restartCount ?? 0,
    Config: { Image: 'local/busybox:1', Labels: { a: 'b' } }, HostConfig: {},
    State: {
      Status: over.status, ExitCode: over.exitCode ?? 0, StartedAt: over.startedAt ?? '0001-01-01T00:00:00Z', FinishedAt: over.finishedAt ?? '0001-01-01T00:00:00Z',
      ...(over.health ? { Health: { Status: over.health } } : {}),
    },
  } as unknown as ContainerInspectInfo;
}

const summary = (State: string, Status: string, name = '/web') => ({ Id: 'c1', Names: [name], State, Status }) as unknown as ContainerInfo;

test('a running container stays cached while Up… matches its start, and not after a restart', () => {
  const cache = new InspectCache();
  cache.put('c1', inspectInfo({ status: 'running', startedAt: new Date(t0).toISOString() }));
  assert.ok(cache.isFresh(summary('running', 'Up 10 seconds'), t0 + 10_500));
  assert.ok(cache.isFresh(summary('running', 'Up 2 hours'), t0 + 2.4 * 3_600_000));
  assert.ok(!cache.isFresh(summary('running', 'Up 3 seconds'), t0 + 10_500), 'restarted since: Up is shorter than our start says');
  assert.ok(!cache.isFresh(summary('exited', 'Exited (0) 1 second ago'), t0 + 10_500), 'state changed');
});

test('an exited container stays cached while exit code and finish time agree', () => {
  const cache = new InspectCache();
  cache.put('c1', inspectInfo({ status: 'exited', exitCode: 3, startedAt: new Date(t0).toISOString(), finishedAt: new Date(t0 + 1000).toISOString() }));
  assert.ok(cache.isFresh(summary('exited', 'Exited (3) 4 seconds ago'), t0 + 5_000));
  assert.ok(!cache.isFresh(summary('exited', 'Exited (1) 4 seconds ago'), t0 + 5_000), 'another exit code');
  assert.ok(!cache.isFresh(summary('exited', 'Exited (3) 1 second ago'), t0 + 5_000), 'ran and exited again');
});

test('created is fresh until its state changes; unknown entries and unparsable Status are not', () => {
  const cache = new InspectCache();
  assert.ok(!cache.isFresh(summary('created', 'Created'), t0));
  cache.put('c1', inspectInfo({ status: 'created' }));
  assert.ok(cache.isFresh(summary('created', 'Created'), t0));
  cache.put('c1', inspectInfo({ status: 'running', startedAt: new Date(t0).toISOString() }));
  assert.ok(!cache.isFresh(summary('running', 'Up for a while'), t0 + 1000));
});

test('a running container with a healthcheck whose list text shows no health (Podman) is inspected again', () => {
  const cache = new InspectCache();
  cache.put('c1', inspectInfo({ status: 'running', startedAt: new Date(t0).toISOString(), health: 'starting' }));
  assert.ok(cache.isFresh(summary('running', 'Up 5 seconds (health: starting)'), t0 + 5_500), 'Docker: the list says the health');
  assert.ok(!cache.isFresh(summary('running', 'Up 5 seconds'), t0 + 5_500), 'Podman: the list never says it');
});

test('liveFor takes the name (renames) and the running health from the list; retain drops the gone', () => {
  const cache = new InspectCache();
  cache.put('c1', inspectInfo({ status: 'running', startedAt: new Date(t0).toISOString(), health: 'starting', restartCount: 2 }));
  const live = cache.liveFor(summary('running', 'Up 5 seconds (healthy)', '/renamed'));
  assert.equal(live?.name, 'renamed');
  assert.equal(live.health, 'healthy');
  assert.equal(live.restartCount, 2);
  assert.equal(live.startedAt, new Date(t0).toISOString());
  cache.retain(new Set());
  assert.equal(cache.liveFor(summary('running', 'Up 5 seconds')), null);
  cache.put('c1', null);
  assert.equal(cache.liveFor(summary('running', 'Up 5 seconds')), null);
});
