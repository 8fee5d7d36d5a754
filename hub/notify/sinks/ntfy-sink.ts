// ntfy (https://docs.ntfy.sh/publish/): published as JSON to the server's
// root URL ({"topic", "title", "message", "priority", "tags", "click"}), so
// host-reported text travels in the body, never in a header.
import type { NotifyMessage } from '../message.ts';
import { messageLines } from '../message.ts';
import { postTo } from '../http-post.ts';

const tags: Record<string, string> = { failed: 'x', refused: 'no_entry', rolledBack: 'rewind', drifted: 'warning', offline: 'electric_plug', recovered: 'white_check_mark', rolloutHalted: 'stop_sign', headApplied: 'rocket' };
const problemPriority: Record<string, number> = { failed: 4, refused: 4, rolledBack: 4, rolloutHalted: 4, offline: 4 };

export function ntfyBody(s: { topic: string; priority?: number | undefined }, m: NotifyMessage): Record<string, unknown> {
  const lines = messageLines(m);
  return {
    topic: s.topic,
    title: m.title,
    message: lines.length > 0 ? lines.join('\n') : m.title,
    priority: s.priority ?? problemPriority[m.event] ?? 3,
    tags: [tags[m.event] ?? 'information_source', 'gitfleet'],
    ...(m.url ? { click: m.url } : {}),
  };
}

export async function sendNtfy(s: { name: string; url: string; topic: string; token?: string | undefined; priority?: number | undefined; timeoutMs: number }, m: NotifyMessage): Promise<void> {
  await postTo(`sink ${s.name}`, s.url + '/', JSON.stringify(ntfyBody(s, m)), { 'content-type': 'application/json', ...(s.token ? { authorization: `Bearer ${s.token}` } : {}) }, s.timeoutMs);
}
