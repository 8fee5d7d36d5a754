// A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat…):
// `{"text": …}` in Slack's mrkdwn. Host-reported text is escaped as Slack
// asks (&, <, >), so a host cannot inject links or mentions.
import type { NotifyMessage } from '../message.ts';
import { messageLines } from '../message.ts';
import { postTo } from '../http-post.ts';

export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackText(m: NotifyMessage): string {
  const title = `*${slackEscape(m.title)}*`;
  const lines = messageLines(m).map((l) => `• ${slackEscape(l)}`);
  return [m.url ? `${title} <${m.url}|open in gitfleet>` : title, ...lines].join('\n');
}

export async function sendSlack(s: { name: string; url: string; timeoutMs: number }, m: NotifyMessage): Promise<void> {
  await postTo(`sink ${s.name}`, s.url, JSON.stringify({ text: slackText(m) }), { 'content-type': 'application/json' }, s.timeoutMs);
}
