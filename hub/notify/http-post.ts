// One POST to a receiver (a notification sink or a forge API): a timeout, no
// redirects followed (a redirect could carry the body and its credentials
// elsewhere), the response read up to a bound, and errors that name the
// status or cause but never the URL's secret parts (a Slack webhook URL is
// itself the secret).
import { PermanentDeliveryError } from './delivery-queue.ts';
import { boundText } from './bound-text.ts';

const MAX_RESPONSE_BYTES = 64 * 1024;

export interface PostResult {
  status: number;
  body: string;
}

async function readBounded(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_RESPONSE_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8');
}

/**
 * Resolves on a 2xx; throws a retryable Error on a network failure, a
 * timeout, 408, 429 or 5xx, and a PermanentDeliveryError on any other status.
 * `what` names the receiver in errors (never the URL).
 */
export async function postTo(what: string, url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostResult> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers: { 'user-agent': 'gitfleet-hub', ...headers }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') throw new Error(`${what}: no answer within ${timeoutMs} ms`);
    throw new Error(`${what}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
  }
  let text: string;
  try {
    text = await readBounded(res);
  } catch {
    text = '';
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: text };
  const detail = `${what}: HTTP ${res.status}${text ? ` ${boundText(text, 200)}` : ''}`;
  if (res.status === 408 || res.status === 429 || res.status >= 500) throw new Error(detail);
  throw new PermanentDeliveryError(detail);
}
