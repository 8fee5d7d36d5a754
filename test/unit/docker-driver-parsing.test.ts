// The driver's pure pieces: event decoding, NDJSON splitting and the
// translation of dockerode errors into GitfleetErrors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEngineEvent } from '../../agent/drivers/docker/event-parse.ts';
import { NdjsonSplitter } from '../../agent/drivers/docker/ndjson.ts';
import { translateEngineError } from '../../agent/drivers/docker/engine-errors.ts';
import { isRegistryUnreachable } from '../../agent/drivers/docker/image-pull.ts';
import { durationToNs } from '../../agent/drivers/docker/quantities.ts';

const dieEvent = {
  status: 'die', id: 'abc', from: 'local/busybox:1', Type: 'container', Action: 'die',
  Actor: { ID: 'abc', Attributes: { exitCode: '137', image: 'local/busybox:1', name: 'web', 'io.gitfleet.resource': 'container/web' } },
  scope: 'local', time: 1700000000, timeNano: 1700000000123456789,
};

test('Podman events: remove is destroy, and its containerExitCode and podId attributes are not labels', () => {
  const podmanRemove = { ...dieEvent, Action: 'remove', Actor: { ID: 'abc', Attributes: { containerExitCode: '0', podId: '', image: 'localhost/local/busybox:1', name: 'web', 'io.gitfleet.resource': 'container/web' } } };
  assert.deepEqual(parseEngineEvent(podmanRemove), { action: 'destroy', id: 'abc', name: 'web', labels: { 'io.gitfleet.resource': 'container/web' }, time: 1700000000123 });
  // Podman's own lifecycle steps the agent does not watch.
  assert.equal(parseEngineEvent({ ...podmanRemove, Action: 'cleanup' }), null);
  assert.equal(parseEngineEvent({ ...podmanRemove, Action: 'sync' }), null);
});

test('a die event carries name, id, labels (without engine attributes) and the exit code', () => {
  assert.deepEqual(parseEngineEvent(dieEvent), {
    action: 'die', id: 'abc', name: 'web', labels: { 'io.gitfleet.resource': 'container/web' }, exitCode: 137, time: 1700000000123,
  });
});

test('health_status carries the health after the colon', () => {
  const event = parseEngineEvent({ ...dieEvent, Action: 'health_status: unhealthy' });
  assert.equal(event?.action, 'health_status');
  assert.equal(event?.health, 'unhealthy');
  assert.equal(event?.exitCode, undefined);
});

test('events the agent does not watch, and garbage, give null', () => {
  assert.equal(parseEngineEvent({ ...dieEvent, Action: 'exec_start: sh' }), null);
  assert.equal(parseEngineEvent({ ...dieEvent, Type: 'network' }), null);
  assert.equal(parseEngineEvent(null), null);
  assert.equal(parseEngineEvent('die'), null);
  assert.equal(parseEngineEvent({ Type: 'container' }), null);
});

test('a malformed actor still yields an event with empty fields', () => {
  assert.deepEqual(parseEngineEvent({ Type: 'container', Action: 'start', Actor: { Attributes: { name: 5 } } }), { action: 'start', id: '', name: '', labels: {} });
});

test('NDJSON: split chunks, several lines per chunk, bad lines reported, last line without newline', () => {
  const values: unknown[] = [];
  const bad: string[] = [];
  const s = new NdjsonSplitter((v) => values.push(v), (line) => bad.push(line));
  s.push('{"a":1}\n{"b"');
  s.push(':2}\n\nnot json\n{"c":');
  s.push(Buffer.from('3}'));
  assert.deepEqual(values, [{ a: 1 }, { b: 2 }]);
  s.end();
  assert.deepEqual(values, [{ a: 1 }, { b: 2 }, { c: 3 }]);
  assert.deepEqual(bad, ['not json']);
});

function modemError(statusCode: number, message: string) {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });
}

test('engine errors map to codes and keep the engine message', () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [Object.assign(new Error('connect ENOENT /nope.sock'), { code: 'ENOENT' }), 'DOCKER_UNAVAILABLE', /\/x\.sock is not reachable \(no socket there/],
    [Object.assign(new Error('connect ECONNREFUSED /x.sock'), { code: 'ECONNREFUSED' }), 'DOCKER_UNAVAILABLE', /refuses connections/],
    [modemError(404, 'No such image: x:1'), 'IMAGE_NOT_FOUND', /cannot do it: No such image: x:1$/],
    [modemError(409, 'Conflict. The container name "/web" is already in use by container "1"'), 'NAME_CONFLICT', /already in use/],
    [modemError(409, 'You cannot remove a running container'), 'DOCKER_FAILED', /cannot remove a running/],
    // Podman's Docker-compatible API answers a taken name with 500.
    [modemError(500, 'container create: creating container storage: the container name "web" is already in use by 1a2b. You have to remove that container to be able to reuse that name: that name is already in use'), 'NAME_CONFLICT', /"web" is already in use/],
    [modemError(404, 'no such image: docker.io/local/x:1: image not known'), 'IMAGE_NOT_FOUND', /no such image: docker\.io\/local\/x:1/],
    [modemError(500, 'driver failed: port is already allocated'), 'DOCKER_FAILED', /port is already allocated/],
    [modemError(404, 'No such container: web'), 'DOCKER_FAILED', /No such container/],
  ];
  for (const [error, code, message] of cases) {
    const translated = translateEngineError(error, 'do it', '/x.sock');
    assert.equal(translated.code, code, translated.message);
    assert.match(translated.message, message);
    assert.equal(translated.cause, error);
  }
});

test('a registry that does not answer is told apart from one that refuses', () => {
  assert.ok(isRegistryUnreachable('Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host'));
  assert.ok(isRegistryUnreachable('Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'));
  assert.ok(!isRegistryUnreachable('manifest for 127.0.0.1:5000/x:1 not found: manifest unknown: manifest unknown'));
  assert.ok(!isRegistryUnreachable('pull access denied for x, repository does not exist or may require \'docker login\''));
});

test('durations', () => {
  assert.equal(durationToNs('1h2m3s4ms', 'k'), 3723.004e9);
  assert.equal(durationToNs(0.25, 'k'), 2.5e8);
  assert.throws(() => durationToNs('10 s', 'k'), /k: "10 s" is not a duration/);
  assert.throws(() => durationToNs(-1, 'k'), /non-negative/);
});
