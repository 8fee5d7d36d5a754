// Labels a container inherits from its image are not reported as its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageLabelCache, withoutImageLabels } from '../../agent/drivers/docker/image-labels.ts';
import { parseEngineEvent, eventImage } from '../../agent/drivers/docker/event-parse.ts';

test('image labels with the image’s value are left out; overridden ones and ownership labels stay', () => {
  const image = { maintainer: 'upstream', 'org.opencontainers.image.title': 'x', 'io.gitfleet.managed-by': 'gitfleet', 'io.gitfleet.test': 'img' };
  const container = { ...image, maintainer: 'the-team', team: 'web', 'io.gitfleet.resource': 'container/web' };
  assert.deepEqual(withoutImageLabels(container, image), { maintainer: 'the-team', team: 'web', 'io.gitfleet.managed-by': 'gitfleet', 'io.gitfleet.resource': 'container/web' });
  assert.deepEqual(withoutImageLabels(container, {}), container);
});

test('the image label cache is bounded', () => {
  const cache = new ImageLabelCache(2);
  cache.put('a', { x: '1' });
  cache.put('b', { x: '2' });
  cache.put('c', { x: '3' });
  assert.equal(cache.get('a'), undefined);
  assert.deepEqual(cache.get('c'), { x: '3' });
});

test('an event’s image attribute is read apart from its labels', () => {
  const raw = { Type: 'container', Action: 'start', Actor: { ID: 'abc', Attributes: { name: 'web', image: 'local/busybox-rich:1', maintainer: 'upstream' } } };
  assert.equal(eventImage(raw), 'local/busybox-rich:1');
  assert.deepEqual(parseEngineEvent(raw)?.labels, { maintainer: 'upstream' });
  assert.equal(eventImage({ Actor: { Attributes: { image: 5 } } }), undefined);
  assert.equal(eventImage(null), undefined);
});
