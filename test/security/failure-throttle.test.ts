// The pieces of the hub's request gate on their own: the failed-token throttle
// (windows, the bound on tracked addresses, IPv6 /64 keys), the access decision
// and how the web view's route recognises the hub's own paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailureThrottle, addressKey } from '../../hub/auth/failure-throttle.ts';
import { decideAccess } from '../../hub/auth/route-access.ts';
import { canonicalSegments, isHubPath } from '../../hub/api/static-route.ts';

test('the throttle allows the limit, refuses past it until the window ends, and warns once per window', () => {
  let now = 1_000_000;
  const warnings: Array<[string, number, number]> = [];
  const t = new FailureThrottle({ limit: 3, windowMs: 60_000, now: () => now, onLimitReached: (a, f, r) => warnings.push([a, f, r]) });
  for (let i = 0; i < 2; i++) t.fail('192.0.2.1');
  assert.equal(t.retryAfter('192.0.2.1'), null);
  t.fail('192.0.2.1');
  assert.equal(t.retryAfter('192.0.2.1'), 60);
  assert.equal(t.retryAfter('192.0.2.2'), null, 'another address is not affected');
  now += 45_500;
  assert.equal(t.retryAfter('192.0.2.1'), 15);
  t.fail('192.0.2.1');
  assert.deepEqual(warnings, [['192.0.2.1', 3, 60]], 'one warning per address and window');
  now += 14_500;
  assert.equal(t.retryAfter('192.0.2.1'), null, 'a new window starts clean');
  for (let i = 0; i < 3; i++) t.fail('192.0.2.1');
  assert.equal(warnings.length, 2);
});

test('the throttle tracks a bounded number of addresses', () => {
  let now = 0;
  const t = new FailureThrottle({ limit: 2, windowMs: 1000, maxAddresses: 100, now: () => now });
  for (let i = 0; i < 1000; i++) t.fail(`198.51.100.${i % 250}-${i}`);
  assert.equal(t.trackedAddresses, 100);
  t.fail('203.0.113.9');
  t.fail('203.0.113.9');
  assert.notEqual(t.retryAfter('203.0.113.9'), null, 'the newest address is kept');
  now = 5000;
  t.fail('203.0.113.10');
  assert.equal(t.trackedAddresses, 1, 'expired windows are dropped first, all at once');
});

test('addresses are counted as IPv4, IPv4-mapped IPv6 as IPv4, IPv6 by /64', () => {
  assert.equal(addressKey('192.0.2.7'), '192.0.2.7');
  assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
});

test('access decisions: public, viewer, admin, and default deny for anything else', () => {
  assert.equal(decideAccess('public', null).allow, true);
  for (const access of ['viewer', 'admin', undefined, 'Admin', 'read']) assert.deepEqual(decideAccess(access, null), { allow: false, status: 401, code: 'AUTH_FAILED', message: 'send "Authorization: Bearer <admin or viewer token>"' });
  assert.equal(decideAccess('viewer', 'viewer').allow, true);
  assert.equal(decideAccess('viewer', 'admin').allow, true);
  assert.equal(decideAccess('admin', 'admin').allow, true);
  assert.ok(!decideAccess('admin', 'viewer').allow);
  for (const access of [undefined, null, '', 'Admin', 'everyone', {}]) {
    for (const role of ['admin', 'viewer'] as const) {
      const d = decideAccess(access, role);
      assert.ok(!d.allow && d.status === 403, `${String(access)} with ${role}`);
    }
  }
});

test("the web view's route recognises the hub's paths in any spelling, and only those", () => {
  for (const p of ['/api', '/API/v1/x', '/%61pi/x', '//api', '/x/../api/v1', '/x/%2e%2e/api', '/api;x/y', '/api%2Fv1', '/Metrics/', '/healthz%00', '/api.json', '/agent', '\\api', '/%E0%A4%A']) {
    assert.equal(isHubPath(p), true, p);
  }
  for (const p of ['/', '/hosts', '/host/web-01', '/tags', '/apix', '/app.js', '/x/api', '/../x']) assert.equal(isHubPath(p), false, p);
  assert.deepEqual(canonicalSegments('/a/./b/../c//D;x'), ['a', 'c', 'd']);
  assert.equal(canonicalSegments('/%zz'), null);
});
