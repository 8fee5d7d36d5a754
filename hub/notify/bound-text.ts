// Host-reported text on its way into a notification or a commit status:
// credentials in URLs hidden (shared/redact.ts), control and bidi characters
// replaced by spaces (a chat client or a terminal must not interpret them),
// and the length bounded so a host cannot make a message large.
import { redactUrl } from '../../shared/redact.ts';

const unsafe = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]+/g;

export function boundText(text: string, maxChars: number): string {
  const flat = redactUrl(text).replace(unsafe, ' ').trim();
  const chars = [...flat];
  return chars.length <= maxChars ? flat : chars.slice(0, Math.max(0, maxChars - 1)).join('') + '…';
}
