// Git push webhooks: which provider sent it (by its headers), whether its
// signature or token is right, and what it says (ref, new revision).
//   GitHub:  X-GitHub-Event, X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>
//   Gitea:   X-Gitea-Event,  X-Gitea-Signature: <hex HMAC-SHA256 of the body>
//   GitLab:  X-Gitlab-Event, X-Gitlab-Token: <the secret itself>
//   generic: X-Gitfleet-Signature: sha256=<hex HMAC-SHA256 of the body>; body optional JSON {ref?, after?}
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GitfleetError } from '../../shared/errors.ts';

export type WebhookProvider = 'github' | 'gitlab' | 'gitea' | 'generic';

export interface PushNotice {
  provider: WebhookProvider;
  /** `push`, or e.g. `ping`: only pushes trigger anything. */
  event: string;
  ref?: string | undefined;
  after?: string | undefined;
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function hmacHex(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
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

/** Throws WEBHOOK_INVALID naming what is wrong; returns what the push says. */
export function verifyWebhook(headers: Headers, body: Buffer, secret: string): PushNotice {
  const provider = detectProvider(headers);
  const expected = hmacHex(secret, body);
  let ok: boolean;
  let event = 'push';
  switch (provider) {
    case 'github': {
      const sig = header(headers, 'x-hub-signature-256');
      ok = sig !== undefined && equalConstantTime(sig.toLowerCase(), `sha256=${expected}`);
      event = header(headers, 'x-github-event')!;
      break;
    }
    case 'gitea': {
      const sig = header(headers, 'x-gitea-signature');
      ok = sig !== undefined && equalConstantTime(sig.toLowerCase(), expected);
      event = header(headers, 'x-gitea-event')!;
      break;
    }
    case 'gitlab': {
      const token = header(headers, 'x-gitlab-token');
      ok = token !== undefined && equalConstantTime(token, secret);
      event = /push/i.test(header(headers, 'x-gitlab-event')!) ? 'push' : header(headers, 'x-gitlab-event')!;
      break;
    }
    case 'generic': {
      const sig = header(headers, 'x-gitfleet-signature');
      ok = sig !== undefined && equalConstantTime(sig.toLowerCase(), `sha256=${expected}`);
      break;
    }
  }
  if (!ok) throw new GitfleetError('WEBHOOK_INVALID', `${provider} webhook: missing or wrong signature`);
  if (body.length === 0) return { provider, event };
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new GitfleetError('WEBHOOK_INVALID', `${provider} webhook: the body is not JSON`, { cause });
  }
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as { ref?: unknown; after?: unknown };
  return {
    provider,
    event,
    ref: typeof p.ref === 'string' ? p.ref : undefined,
    after: typeof p.after === 'string' ? p.after : undefined,
  };
}

/** Whether a pushed ref is the one the fleet follows (`main` matches `refs/heads/main`). */
export function refMatches(pushed: string | undefined, followed: string): boolean {
  if (pushed === undefined) return true;
  return pushed === followed || pushed === `refs/heads/${followed}` || pushed === `refs/tags/${followed}`;
}
