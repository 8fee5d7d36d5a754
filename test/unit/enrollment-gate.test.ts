// The pure parts of enrollment: the host-id glob, the fixed-window throttle,
// and the gate's tag rule (checked against the repo's declaration, never
// against what the agent says), with a real SQLite store underneath.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { hostMatches, hostPatternProblem } from '../../hub/auth/host-pattern.ts';
import { EnrollThrottle } from '../../hub/gateway/enroll-throttle.ts';
import { EnrollmentGate } from '../../hub/gateway/enrollment-gate.ts';
import { SqliteFleetStore } from '../../hub/store/sqlite-store.ts';
import { hashSecret } from '../../hub/auth/secrets.ts';
import type { FleetHead } from '../../hub/git/fleet-repo-view.ts';
import type { Hello } from '../../shared/protocol.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { emptyFacts } from '../../agent/facts.ts';
import { isGitfleetError } from '../../shared/errors.ts';

test('host-id glob: * and ? only, anchored, dots and dashes literal', () => {
  assert.ok(hostMatches('kiosk-*', 'kiosk-12'));
  assert.ok(hostMatches('kiosk-*', 'kiosk-'));
  assert.ok(!hostMatches('kiosk-*', 'xkiosk-1'));
  assert.ok(hostMatches('web-0?', 'web-07'));
  assert.ok(!hostMatches('web-0?', 'web-007'));
  assert.ok(!hostMatches('a.b', 'axb'), 'a dot is a dot');
  assert.ok(hostMatches('*', 'anything'));
  for (const bad of ['', 'a b', 'a/b', '[ab]', 'x'.repeat(254), '(.*)']) assert.notEqual(hostPatternProblem(bad), null, bad);
  assert.equal(hostPatternProblem('db-*.eu'), null);
});

test('throttle: a fixed window per key, refusals say when to retry and are reported once per window; keys bounded', () => {
  let now = 0;
  const t = new EnrollThrottle({ limit: 3, windowMs: 1000 }, { maxKeys: 5, now: () => now });
  for (let i = 0; i < 3; i++) assert.deepEqual(t.take('a'), { allowed: true });
  assert.deepEqual(t.take('a'), { allowed: false, retryAfterMs: 1000, firstRefusal: true });
  now = 400;
  assert.deepEqual(t.take('a'), { allowed: false, retryAfterMs: 600, firstRefusal: false });
  assert.deepEqual(t.take('b'), { allowed: true }, 'keys are independent');
  now = 1000;
  assert.deepEqual(t.take('a'), { allowed: true }, 'a new window');
  for (let i = 0; i < 50; i++) t.take(`k${i}`);
  assert.ok(t.size <= 5, `bounded: ${t.size}`);
});

test('gate: tags come from the repo (host directory or known place), not from the agent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-gate-'));
  const store = new SqliteFleetStore(join(dir, 'hub.sqlite'));
  let head: FleetHead | null = {
    revision: 'r'.repeat(40),
    hosts: [{ id: 'web-01', dir: 'prod/eu/web-01', pathTags: ['prod', 'prod/eu'], crossTags: ['monitoring'] }],
    tags: ['prod', 'prod/eu', 'prod/kiosks', 'staging', 'monitoring'],
    issues: [],
  };
  const gate = new EnrollmentGate({ store, head: () => head, logger: pino({ level: 'silent' }), now: () => new Date('2026-03-01T00:00:00Z') });
  const secrets: Record<string, string> = {};
  for (const [id, tag] of [
    ['et-000000000001', 'prod'],
    ['et-000000000002', 'monitoring'],
    ['et-000000000003', 'prod/kiosks'],
  ] as const) {
    secrets[tag] = `secret-for-${tag}`;
    await store.createEnrollmentToken({ id, name: tag, secretHash: hashSecret(secrets[tag]), createdAt: '2026-01-01T00:00:00.000Z', expiresAt: null, maxUses: null, uses: 0, hostPattern: null, tag });
  }
  const hello = (host: string, token: string, place = '', tags: string[] = []): Hello =>
    ({ type: 'hello', protocol: PROTOCOL_VERSION, host, agentVersion: 't', place, tags, facts: emptyFacts(), droppedEvents: 0, enrollmentToken: token }) as Hello;
  const refused = async (h: Hello, why: RegExp) =>
    assert.rejects(gate.admit(h, '192.0.2.1'), (e: unknown) => isGitfleetError(e, 'AUTH_FAILED') && why.test(e.message));

  assert.equal((await gate.admit(hello('web-01', secrets.prod!), '192.0.2.1')).kind, 'scoped', 'prod/eu/web-01 is in prod');
  assert.equal((await gate.admit(hello('web-01', secrets.monitoring!), '192.0.2.1')).kind, 'scoped', 'a cross-cutting tag from host.yaml');
  await refused(hello('web-01', secrets['prod/kiosks']!), /declared in prod, prod\/eu, monitoring/);
  // A host without a directory: its place must be a directory of the tree; its self-declared tags do not count.
  assert.equal((await gate.admit(hello('kiosk-9', secrets['prod/kiosks']!, 'prod/kiosks'), '192.0.2.1')).kind, 'scoped');
  await refused(hello('kiosk-9', secrets.monitoring!, 'prod/kiosks', ['monitoring']), /is declared in prod, prod\/kiosks/);
  await refused(hello('ghost-1', secrets.prod!, 'prod/nowhere', ['prod']), /not declared in the fleet repo/);
  head = null;
  await refused(hello('web-01', secrets.prod!), /does not know the fleet repo's head/);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});
