// Webhook verification without a hub: signatures per provider, the generic
// timestamp, form bodies, delivery keys, ref matching, and the bounded
// delivery log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { DeliveryLog } from '../../hub/webhook/delivery-log.ts';
import { WebhookRefusal, refMatches, verifyWebhook } from '../../hub/webhook/verify-webhook.ts';

const secret = 'webhook-secret-0123456789abcdef';
const hmac = (data: string) => createHmac('sha256', secret).update(data).digest('hex');
const push = JSON.stringify({ ref: 'refs/heads/main', after: 'b'.repeat(40) });
const now = 1_800_000_000_000;

function refusal(fn: () => unknown): { status: number; message: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof WebhookRefusal, String(error));
    return { status: error.status, message: error.message };
  }
  assert.fail('expected a refusal');
}

test('GitHub: JSON and form bodies, signature over the raw body, delivery id and body digest as keys', () => {
  const json = verifyWebhook({ 'x-github-event': 'push', 'x-github-delivery': 'd-1', 'x-hub-signature-256': `sha256=${hmac(push)}` }, Buffer.from(push), secret);
  assert.equal(json.ref, 'refs/heads/main');
  assert.deepEqual(json.deliveryKeys, [`github:body:${hmac(push)}`, 'github:id:d-1']);
  const form = `payload=${encodeURIComponent(push)}`;
  const f = verifyWebhook(
    { 'x-github-event': 'push', 'x-github-delivery': 'd-2', 'x-hub-signature-256': `sha256=${hmac(form)}`, 'content-type': 'application/x-www-form-urlencoded' },
    Buffer.from(form),
    secret,
  );
  assert.equal(f.after, 'b'.repeat(40));
  // Signed over the decoded JSON instead of the raw form body: refused.
  assert.equal(
    refusal(() => verifyWebhook({ 'x-github-event': 'push', 'x-github-delivery': 'd-3', 'x-hub-signature-256': `sha256=${hmac(push)}`, 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from(form), secret)).status,
    401,
  );
  assert.equal(refusal(() => verifyWebhook({ 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(push)}` }, Buffer.from(push), secret)).status, 400, 'no delivery id');
  const noPayload = 'other=1';
  assert.match(
    refusal(() => verifyWebhook({ 'x-github-event': 'push', 'x-github-delivery': 'd', 'x-hub-signature-256': `sha256=${hmac(noPayload)}`, 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from(noPayload), secret)).message,
    /without a payload field/,
  );
});

test('GitLab: Push Hook and Tag Push Hook are pushes of their ref; the event UUID is the key', () => {
  const tag = verifyWebhook({ 'x-gitlab-event': 'Tag Push Hook', 'x-gitlab-event-uuid': 'u-1', 'x-gitlab-token': secret }, Buffer.from('{"ref":"refs/tags/v1"}'), secret);
  assert.deepEqual({ event: tag.event, ref: tag.ref, keys: tag.deliveryKeys }, { event: 'push', ref: 'refs/tags/v1', keys: ['gitlab:id:u-1'] });
  assert.equal(refMatches(tag.ref, 'main'), false);
  const other = verifyWebhook({ 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-event-uuid': 'u-2', 'x-gitlab-token': secret }, Buffer.from('{}'), secret);
  assert.equal(other.event, 'Merge Request Hook');
});

test('generic: the timestamp is signed with the body and must be within 5 minutes', () => {
  const ts = String(now / 1000);
  const ok = verifyWebhook({ 'x-gitfleet-timestamp': ts, 'x-gitfleet-signature': `sha256=${hmac(`${ts}.${push}`)}` }, Buffer.from(push), secret, now);
  assert.equal(ok.ref, 'refs/heads/main');
  assert.equal(ok.deliveryKeys.length, 1);
  const stale = String(now / 1000 - 301);
  assert.match(refusal(() => verifyWebhook({ 'x-gitfleet-timestamp': stale, 'x-gitfleet-signature': `sha256=${hmac(`${stale}.${push}`)}` }, Buffer.from(push), secret, now)).message, /301 s from the hub's clock/);
  // The timestamp changed after signing: the signature no longer matches.
  assert.equal(refusal(() => verifyWebhook({ 'x-gitfleet-timestamp': String(now / 1000 + 1), 'x-gitfleet-signature': `sha256=${hmac(`${ts}.${push}`)}` }, Buffer.from(push), secret, now)).status, 401);
  assert.match(refusal(() => verifyWebhook({ 'x-gitfleet-signature': `sha256=${hmac(push)}` }, Buffer.from(push), secret, now)).message, /X-Gitfleet-Timestamp/);
  // An empty body is fine; curl -d labels JSON as a form, which generic ignores.
  const empty = verifyWebhook({ 'x-gitfleet-timestamp': ts, 'x-gitfleet-signature': `sha256=${hmac(`${ts}.`)}`, 'content-type': 'application/x-www-form-urlencoded' }, Buffer.alloc(0), secret, now);
  assert.equal(empty.ref, undefined);
});

test('refMatches: a branch-following fleet ignores tags; HEAD or unknown follows branches only', () => {
  assert.equal(refMatches('refs/heads/main', 'main'), true);
  assert.equal(refMatches('refs/tags/v1', 'main'), false);
  assert.equal(refMatches('refs/tags/v1', 'v1'), true);
  assert.equal(refMatches('refs/tags/main', 'refs/heads/main'), false);
  assert.equal(refMatches('refs/heads/dev', undefined), true);
  assert.equal(refMatches('refs/tags/v1', undefined), false);
  assert.equal(refMatches('refs/tags/v1', 'HEAD'), false);
  assert.equal(refMatches(undefined, 'main'), true);
});

test('the delivery log catches a replay by any key, forgets after its TTL, and holds at most max', () => {
  let clock = 0;
  const log = new DeliveryLog(3, 1000, () => clock);
  assert.equal(log.replayed(['a', 'x']), false);
  assert.equal(log.replayed(['b', 'x']), true, 'same body under a new id');
  assert.equal(log.replayed(['b']), false);
  clock = 1001;
  assert.equal(log.replayed(['a']), false, 'expired');
  log.replayed(['c']);
  log.replayed(['d']);
  log.replayed(['e']);
  assert.equal(log.size, 3);
  assert.equal(log.replayed(['e']), true);
  assert.equal(log.replayed(['a']), false, 'the oldest was forgotten first');
});
