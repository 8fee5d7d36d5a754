// The generic JSON webhook: the message as JSON (docs/notifications.md,
// "Payload"), signed with HMAC-SHA256 over the exact body bytes with the
// sink's secret, so the receiver can tell the hub sent it.
import { createHmac } from 'node:crypto';
import type { NotifyMessage } from '../message.ts';
import { postTo } from '../http-post.ts';

export const SIGNATURE_HEADER = 'x-gitfleet-signature-256';

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export async function sendWebhook(s: { name: string; url: string; secret: string; timeoutMs: number }, m: NotifyMessage): Promise<void> {
  const body = JSON.stringify(m);
  await postTo(`sink ${s.name}`, s.url, body, { 'content-type': 'application/json', [SIGNATURE_HEADER]: signBody(s.secret, body), 'x-gitfleet-event': m.event, 'x-gitfleet-delivery': m.id }, s.timeoutMs);
}
