// Taint by value (shared/secrets/mask.ts): what is masked, and what is not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MASK, MAX_SECRETS, SecretValues } from '../../shared/secrets/mask.ts';

test('secrets are masked inside any string, longest first; short ones only as whole strings', () => {
  const s = new SecretValues();
  s.add(['hunter2hunter2', 'hunter2hunter2-and-more', 'on', '']);
  assert.equal(s.mask('postgres://u:hunter2hunter2@db'), `postgres://u:${MASK}@db`);
  assert.equal(s.mask('x hunter2hunter2-and-more y'), `x ${MASK} y`);
  assert.equal(s.mask('on'), MASK);
  assert.equal(s.mask('turn it on'), 'turn it on');
  assert.ok(s.taints('a hunter2hunter2 b') && !s.taints('nothing'));
  assert.equal(s.mask('a.b*c'), 'a.b*c', 'regex characters in text are harmless');
  s.add(['a.b*c']);
  assert.equal(s.mask('xa.b*cx'), `x${MASK}x`, 'regex characters in a secret are literal');
});

test('deep masking: values, keys, arrays, errors; the input is not changed', () => {
  const s = new SecretValues();
  s.add(['s3cr3t-value']);
  const input = { env: { KEY: 's3cr3t-value' }, list: ['a', 'x s3cr3t-value'], 's3cr3t-value': 1, n: 5, nil: null };
  const out = s.maskDeep(input);
  assert.deepEqual(out, { env: { KEY: MASK }, list: ['a', `x ${MASK}`], [MASK]: 1, n: 5, nil: null });
  assert.equal(input.env.KEY, 's3cr3t-value');
  const e = s.maskDeep(Object.assign(new Error('failed: s3cr3t-value'), { code: 'X' }));
  assert.ok(e instanceof Error);
  assert.equal(e.message, `failed: ${MASK}`);
  assert.ok(!(e.stack ?? '').includes('s3cr3t-value'));
  assert.equal((e as Error & { code?: string }).code, 'X');
  assert.equal(new SecretValues().maskDeep(input), input, 'nothing registered: the same object');
});

test('bounded: past MAX_SECRETS the value registered longest ago is forgotten, values seen again stay', () => {
  const s = new SecretValues();
  s.add(['keep-this-one', 'first-to-go']);
  s.add(Array.from({ length: MAX_SECRETS - 2 }, (_, i) => `filler-${i}`));
  s.add(['keep-this-one']); // seen again: the newest now
  s.add(['one-more-value']);
  assert.equal(s.size, MAX_SECRETS);
  assert.equal(s.mask('first-to-go'), 'first-to-go');
  assert.equal(s.mask('x keep-this-one'), `x ${MASK}`);
  assert.equal(s.mask('one-more-value'), MASK);
});
