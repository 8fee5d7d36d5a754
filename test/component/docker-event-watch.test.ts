// The event watch against a stand-in Engine API on a Unix socket that drops the
// stream mid-way (a proxy restart, a network blip): the watch must reconnect
// with `since`, and drop the events the engine replays from that second.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerContainerDriver } from '../../agent/drivers/docker/docker-container-driver.ts';
import type { ContainerEvent } from '../../agent/drivers/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'gitfleet-events-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const event = (action: string, id: string, second: number, nano: number) => JSON.stringify({
  Type: 'container', Action: action, Actor: { ID: id, Attributes: { name: `n-${id}`, role: 'x' } },
  time: second, timeNano: second * 1e9 + nano,
});

test('a dropped event stream is resumed from the last second seen, without duplicates', async () => {
  const socketPath = join(dir, 'engine.sock');
  const requests: URL[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://engine');
    if (!url.pathname.endsWith('/events')) {
      res.writeHead(404).end('{"message":"not here"}');
      return;
    }
    requests.push(url);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (requests.length === 1) {
      // two events (the second split across writes), then the connection drops
      res.write(`${event('start', 'a', 100, 1)}\n${event('die', 'a', 100, 2).slice(0, 20)}`);
      setTimeout(() => {
        res.write(`${event('die', 'a', 100, 2).slice(20)}\n`);
        setTimeout(() => res.destroy(), 20);
      }, 20);
    } else if (requests.length === 2) {
      // the engine replays everything since second 100, then goes on
      res.write(`${event('start', 'a', 100, 1)}\n${event('die', 'a', 100, 2)}\nnot json\n${event('destroy', 'a', 101, 0)}\n`);
    }
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  const driver = new DockerContainerDriver({ socketPath, reconnectMinMs: 10, reconnectMaxMs: 20 });
  const events: ContainerEvent[] = [];
  const errors: Error[] = [];
  let connects = 0;
  const stop = driver.watch((e) => events.push(e), (e) => errors.push(e), () => connects++);
  try {
    const deadline = Date.now() + 15_000;
    while (!events.some((e) => e.action === 'destroy') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(events.map((e) => e.action), ['start', 'die', 'destroy']);
    assert.deepEqual(events[0]?.labels, { role: 'x' });
    assert.equal(connects, 2);
    assert.equal(requests[0]?.searchParams.get('since'), null);
    assert.equal(requests[1]?.searchParams.get('since'), '100');
    assert.deepEqual(JSON.parse(requests[1]?.searchParams.get('filters') ?? '{}'), { type: ['container'] });
    const codes = errors.map((e) => (e as { code?: string }).code);
    assert.deepEqual(codes, ['DOCKER_UNAVAILABLE', 'DOCKER_FAILED'], errors.map(String).join('; '));
    assert.match(String(errors[1]?.message), /unparsable Docker event skipped: not json/);
  } finally {
    stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
