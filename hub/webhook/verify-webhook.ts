// Git push webhooks: which provider sent it (by its headers), whether its
// signature or token is right, what it says (ref, new revision), and which
// keys identify the delivery for replay protection (delivery-log.ts).
//   GitHub:  X-GitHub-Event, X-GitHub-Delivery, X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>
//   Gitea:   X-Gitea-Event,  X-Gitea-Delivery,  X-Gitea-Signature: <hex HMAC-SHA256 of the raw body>
//   GitLab:  X-Gitlab-Event, X-Gitlab-Event-UUID, X-Gitlab-Token: <the secret itself>
//   generic: X-Gitfleet-Timestamp: <unix seconds>,
//            X-Gitfleet-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">; body optional JSON {ref?, after?}
// Bodies are JSON, or (GitHub's and Gitea's form option) application/x-www-form-urlencoded
// with the JSON in the `payload` field; signatures are always over the raw body.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GitfleetError } from '../../shared/errors.ts';

export type WebhookProvider = 'github' | 'gitlab' | 'gitea' | 'generic';

export interface PushNotice {
  provider: WebhookProvider;
  /** `push` (GitLab's Push Hook and Tag Push Hook too), or e.g. `ping`: only pushes trigger anything. */
  event: string;
  ref?: string | undefined;
  after?: string | undefined;
  /** What identifies this delivery: seen before means a replay. */
  deliveryKeys: string[];
}

/** A generic webhook's timestamp may be this far from the hub's clock, either way. */
export const genericMaxSkewSeconds = 300;

/** Refused: 401 when it is not authentic (signature, token, timestamp), 400 when it is unreadable. */
export class WebhookRefusal extends GitfleetError {
  constructor(
    readonly status: 400 | 401,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super('WEBHOOK_INVALID', message, options);
  }
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function hmacHex(secret: string, ...parts: Array<string | Buffer>): string {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

function equalConstantTime(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function detectProvider(headers: Headers): WebhookProvider {
  if (header(headers, 'x-github-event') !== undefined) return 'github';
  if (header(headers, 'x-gitea-event') !== undefined) return 'gitea';
  if (header(headers, 'x-gitlab-event') !== undefined) return 'gitlab';
  return 'generic';
}

const deliveryHeader: Record<Exclude<WebhookProvider, 'generic'>, string> = {
  github: 'x-github-delivery',
  gitea: 'x-gitea-delivery',
  gitlab: 'x-gitlab-event-uuid',
};
// Providers send a UUID (GitHub, GitLab) or a number (Gitea); anything printable and short will do.
const deliveryIdPattern = /^[\x21-\x7e]{1,128}$/;

/** Throws WebhookRefusal naming what is wrong; returns what the delivery says. */
export function verifyWebhook(headers: Headers, body: Buffer, secret: string, nowMs = Date.now()): PushNotice {
  const provider = detectProvider(headers);
  let ok: boolean;
  let event = 'push';
  const keys: string[] = [];
  switch (provider) {
    case 'github':
    case 'gitea': {
      const expected = hmacHex(secret, body);
      const sig = provider === 'github' ? header(headers, 'x-hub-signature-256') : header(headers, 'x-gitea-signature');
      ok = sig !== undefined && equalConstantTime(sig.toLowerCase(), provider === 'github' ? `sha256=${expected}` : expected);
      event = header(headers, `x-${provider}-event`)!;
      // The delivery id is not covered by the signature: the signed body is
      // remembered too, so a replay under a fresh id is caught as well.
      keys.push(`${provider}:body:${expected}`);
      break;
    }
    case 'gitlab': {
      const token = header(headers, 'x-gitlab-token');
      ok = token !== undefined && equalConstantTime(token, secret);
      const kind = header(headers, 'x-gitlab-event')!;
      // A tag push is a push of refs/tags/…: refMatches decides whether the fleet follows it.
      event = kind === 'Push Hook' || kind === 'Tag Push Hook' ? 'push' : kind;
      break;
    }
    case 'generic': {
      const sig = header(headers, 'x-gitfleet-signature');
      const stamp = header(headers, 'x-gitfleet-timestamp');
      if (sig === undefined) throw new WebhookRefusal(401, 'generic webhook: missing signature (X-Gitfleet-Signature)');
      if (stamp === undefined || !/^\d{1,12}$/.test(stamp)) {
        throw new WebhookRefusal(401, 'generic webhook: missing or malformed X-Gitfleet-Timestamp (unix seconds, signed with the body as "<timestamp>.<body>")');
      }
      const expected = hmacHex(secret, `${stamp}.`, body);
      ok = equalConstantTime(sig.toLowerCase(), `sha256=${expected}`);
      if (ok) {
        const age = Math.round(nowMs / 1000) - Number(stamp);
        if (Math.abs(age) > genericMaxSkewSeconds) {
          throw new WebhookRefusal(401, `generic webhook: X-Gitfleet-Timestamp is ${age} s from the hub's clock (at most ${genericMaxSkewSeconds} s either way)`);
        }
      }
      keys.push(`generic:sig:${expected}`);
      break;
    }
  }
  if (!ok) throw new WebhookRefusal(401, `${provider} webhook: missing or wrong signature`);
  if (provider !== 'generic') {
    const name = deliveryHeader[provider];
    const id = header(headers, name);
    if (id === undefined || !deliveryIdPattern.test(id)) throw new WebhookRefusal(400, `${provider} webhook: missing or malformed delivery id (${name})`);
    keys.push(`${provider}:id:${id}`);
  }
  const payload = parsePayload(provider, header(headers, 'content-type'), body);
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as { ref?: unknown; after?: unknown };
  return {
    provider,
    event,
    ref: typeof p.ref === 'string' ? p.ref : undefined,
    after: typeof p.after === 'string' ? p.after : undefined,
    deliveryKeys: keys,
  };
}

function parsePayload(provider: WebhookProvider, contentType: string | undefined, body: Buffer): unknown {
  if (body.length === 0) return {};
  let text = body.toString('utf8');
  // Only GitHub and Gitea have a form option; a generic body is JSON whatever curl -d labels it.
  const form = contentType?.split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
  if (form && (provider === 'github' || provider === 'gitea')) {
    const field = new URLSearchParams(text).get('payload');
    if (field === null) throw new WebhookRefusal(400, `${provider} webhook: a form body without a payload field`);
    text = field;
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new WebhookRefusal(400, `${provider} webhook: the body is not JSON (nor a form with a JSON payload field)`, { cause });
  }
}

/**
 * Whether a pushed ref is the one the fleet follows. A plain name matches
 * the branch or the tag of that name (as the fleet's ref is resolved); a full
 * ref only itself. When the followed ref is unknown or HEAD (the default
 * branch, which a push does not name), branch pushes match and tag pushes do not.
 */
export function refMatches(pushed: string | undefined, followed: string | undefined): boolean {
  if (pushed === undefined) return true;
  if (followed === undefined || followed === 'HEAD') return pushed.startsWith('refs/heads/');
  if (followed.startsWith('refs/')) return pushed === followed;
  return pushed === followed || pushed === `refs/heads/${followed}` || pushed === `refs/tags/${followed}`;
}

/** The headers of a generic delivery of `body` (for scripts and tests that send one). */
export function genericWebhookHeaders(secret: string, body: string | Buffer, nowMs = Date.now()): Record<string, string> {
  const stamp = String(Math.floor(nowMs / 1000));
  return { 'x-gitfleet-timestamp': stamp, 'x-gitfleet-signature': `sha256=${hmacHex(secret, `${stamp}.`, body)}` };
}
