// Property tests of the policy intersection (fast-check, seeded): a host's
// effective policy, its own narrowed by a repo policy, allows exactly what both
// allow when the repo policy only narrows, never more than either when it tries
// to widen (and then the widening is reported); glob containment is sound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluatePolicy, globCovers, globMatch, narrowPolicy, type Policy } from '../../shared/policy/index.ts';
import type { DesiredResource } from '../../shared/resources.ts';
import { container, desired, file, unit } from '../helpers/desired.ts';

const seed = 20261130;
const numRuns = 4000;

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const sub = (pool: string[]) => opt(fc.subarray(pool));

const policyArb: fc.Arbitrary<Policy> = fc.record(
  {
    containers: opt(
      fc.record(
        {
          images: sub(['*', 'docker.io/*', 'docker.io/library/*', 'ghcr.io/acme/*', 'ghcr.io/acme/app', 'docker.io/library/nginx']),
          requireDigest: opt(fc.boolean()),
          allowPrivileged: opt(fc.boolean()),
          allowHostNetwork: opt(fc.boolean()),
          devices: sub(['/dev/*', '/dev/fuse', '/dev/net/tun']),
          capAdd: sub(['ALL', 'NET_ADMIN', 'SYS_ADMIN', 'CHOWN']),
          denyMounts: sub(['/', '/etc', '/root/**', '/var/run/docker.sock', '/srv/secret']),
          allowRootUser: opt(fc.boolean()),
          max: opt(fc.nat(4)),
        },
        { requiredKeys: [] },
      ),
    ),
    units: opt(
      fc.record(
        {
          names: sub(['*', 'app-*', 'app-web.service', 'db.service']),
          allowRootUser: opt(fc.boolean()),
          execStart: sub(['/usr/bin/*', '/usr/bin/id', '/opt/*', '/opt/app/run']),
          max: opt(fc.nat(4)),
        },
        { requiredKeys: [] },
      ),
    ),
    files: opt(
      fc.record(
        {
          allow: sub(['/', '/etc', '/etc/app', '/srv', '/srv/www']),
          deny: sub(['/etc/sudoers*', '/srv/www/secret']),
          maxSize: opt(fc.constantFrom(10, 100, '1k')),
          max: opt(fc.nat(4)),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Policy>;

const resourceArb: fc.Arbitrary<DesiredResource> = fc.oneof(
  fc
    .record({
      image: fc.constantFrom('nginx', 'ghcr.io/acme/app:1', `ghcr.io/acme/other@sha256:${'c'.repeat(64)}`, 'docker.io/evil/x', `docker.io/library/nginx@sha256:${'d'.repeat(64)}`),
      privileged: opt(fc.boolean()),
      network: opt(fc.constantFrom('host', 'none')),
      devices: opt(fc.subarray(['/dev/fuse', '/dev/sda', '/dev/net/tun'])),
      cap_add: opt(fc.subarray(['NET_ADMIN', 'SYS_ADMIN', 'CHOWN', 'cap_chown'])),
      volumes: opt(fc.subarray(['/:/h', '/etc:/e', '/etc/nginx:/n', '/var/run:/r', '/srv/secret/a:/s', '/root:/r2', 'data:/d'])),
      user: opt(fc.constantFrom('root', '1000', '0:0', 'app')),
    })
    .map((spec) => container('c', Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)))),
  fc
    .record({
      name: fc.constantFrom('app-web.service', 'app-db.service', 'db.service', 'other.timer'),
      user: fc.constantFrom('', 'User=root\n', 'User=app\n'),
      exec: fc.constantFrom('', 'ExecStart=/usr/bin/id\n', 'ExecStart=/opt/app/run\n', 'ExecStart=/tmp/x\n', 'ExecStartPre=+/usr/bin/id\nExecStart=/usr/bin/id\n'),
    })
    .map(({ name, user, exec }) => unit(name, { content: `[Service]\n${user}${exec}` })),
  fc
    .record({
      path: fc.constantFrom('/etc/app/a', '/etc/sudoers.d/x', '/srv/www/index', '/srv/www/secret/k', '/opt/x', '/etc/x'),
      size: fc.constantFrom(1, 50, 500, 2000),
    })
    .map(({ path, size }) => file(path, { content: 'x'.repeat(size) })),
);

const stateArb = fc.array(resourceArb, { maxLength: 3 }).map((rs) => desired(rs.map((r, i) => ({ ...r, id: `${r.id}-${i}` as DesiredResource['id'] }))));

const allows = (p: Policy, s: ReturnType<typeof desired>) => evaluatePolicy(p, s).length === 0;

test('narrowing never allows more than the host policy or the repo policy', () => {
  fc.assert(
    fc.property(policyArb, policyArb, stateArb, (host, repo, state) => {
      const { policy } = narrowPolicy(host, repo);
      if (allows(policy, state)) {
        assert.ok(allows(host, state), 'the effective policy allowed what the host policy refuses');
        assert.ok(allows(repo, state), 'the effective policy allowed what the repo policy refuses');
      }
    }),
    { seed, numRuns },
  );
});

test('a repo policy that only narrows: the effective policy allows exactly what both allow', () => {
  let narrowing = 0;
  fc.assert(
    fc.property(policyArb, policyArb, stateArb, (host, repo, state) => {
      const { policy, widenings } = narrowPolicy(host, repo);
      if (widenings.length > 0) return;
      narrowing++;
      assert.equal(allows(policy, state), allows(host, state) && allows(repo, state));
    }),
    { seed, numRuns },
  );
  assert.ok(narrowing > numRuns / 20, `too few narrowing pairs were generated (${narrowing}): the property was barely exercised`);
});

test('no false widening: a policy that is itself a narrowing of the host policy is accepted under it', () => {
  fc.assert(
    fc.property(policyArb, policyArb, stateArb, (host, other, state) => {
      // narrowPolicy's result never allows more than the host (first property): as a repo policy it must pass.
      const narrower = narrowPolicy(host, other).policy;
      const again = narrowPolicy(host, narrower);
      assert.deepEqual(again.widenings, [], 'a true narrowing was reported as a widening');
      assert.equal(allows(again.policy, state), allows(narrower, state));
    }),
    { seed, numRuns },
  );
});

test('narrowing by itself, or by nothing, changes nothing', () => {
  fc.assert(
    fc.property(policyArb, stateArb, (host, state) => {
      const self = narrowPolicy(host, host);
      assert.deepEqual(self.widenings, []);
      assert.equal(allows(self.policy, state), allows(host, state));
      const none = narrowPolicy(host, {});
      assert.deepEqual(none.widenings, []);
      assert.equal(allows(none.policy, state), allows(host, state));
    }),
    { seed, numRuns },
  );
});

const globChars = fc.constantFrom('a', 'b', '/', '.', '*', '?');
const globArb = fc.array(globChars, { maxLength: 8 }).map((cs) => cs.join(''));
const textArb = fc.array(fc.constantFrom('a', 'b', '/', '.', 'c'), { maxLength: 10 }).map((cs) => cs.join(''));

/** A text the glob matches: each * and ? filled in. */
function instance(glob: string, fill: string[]): string {
  let i = 0;
  return [...glob].map((ch) => (ch === '*' ? (fill[i++ % fill.length] ?? '') : ch === '?' ? (fill[i++ % fill.length] ?? 'a').slice(0, 1) || 'a' : ch)).join('');
}

test('glob containment is sound: covers(Q, P) and P matches s imply Q matches s', () => {
  fc.assert(
    fc.property(globArb, globArb, fc.array(textArb, { minLength: 1, maxLength: 4 }), textArb, (q, p, fill, random) => {
      if (!globCovers(q, p)) return;
      for (const s of [instance(p, fill), random]) if (globMatch(p, s)) assert.ok(globMatch(q, s), `${q} covers ${p} but not ${s}`);
    }),
    { seed, numRuns: 3000 },
  );
});

test('glob containment sees the usual narrowings: a wildcard filled in, or text appended after a *', () => {
  fc.assert(
    fc.property(globArb, fc.array(textArb, { minLength: 1, maxLength: 4 }), (q, fill) => {
      const narrowed = instance(q, fill);
      assert.ok(globCovers(q, narrowed), `${q} should cover ${narrowed}`);
      assert.ok(globCovers(q, q));
      if (q.endsWith('*')) assert.ok(globCovers(q, `${q.slice(0, -1)}${fill[0]}*`));
    }),
    { seed, numRuns: 2000 },
  );
});
