// Text that came from elsewhere (an agent's report, the hub, a Git repo),
// made safe to print on a terminal. Anyone who can make a host report a
// message could otherwise send escape sequences (retitle the window, clear
// the screen, rewrite earlier lines, OSC 8 links, on some terminals far
// worse) or bidi overrides that make text read differently than it is.
// Every such character is shown escaped instead, visibly: ESC as \x1b,
// U+202E as \u202e. No Node-only code: any layer may use it.

/**
 * C0 controls, DEL, C1 controls (0x80–0x9f: 0x9b is a one-byte CSI), the
 * bidi marks, embeddings, overrides and isolates, and the Unicode line and
 * paragraph separators (they break lines like \n).
 */
const unsafe = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;
// What JSON.stringify leaves raw of the above: every C0 control it escapes already.
const unsafeInJson = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * One field of remote text for a terminal: every unsafe character escaped.
 * `multiline` keeps newline and tab (for a block of text the caller indents);
 * otherwise they are escaped too, so a field cannot fake further lines.
 */
export function terminalText(text: string, o: { multiline?: boolean } = {}): string {
  return text.replace(unsafe, (c) => (o.multiline && (c === '\n' || c === '\t') ? c : escapeChar(c)));
}

/** JSON for a terminal: the same value, with the characters JSON.stringify leaves raw written as \uXXXX. */
export function terminalJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(unsafeInJson, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
