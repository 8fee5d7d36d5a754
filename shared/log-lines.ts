// The last lines of a unit's journal or a container's log, as a status carries
// them to the hub: at most LOG_LIMITS.lines lines and LOG_LIMITS.bytes UTF-8
// bytes in all (the newest lines are kept), terminal escape sequences and
// control characters removed (a program's log is not the agent's to trust).
// No Node-only code: the agent bounds, the hub's schema checks the same bounds.

export const LOG_LIMITS = { lines: 20, bytes: 4096 } as const;

// CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), and other two-byte ESC sequences.
const escapes = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]/g;
// C0 (tab becomes a space first), DEL, C1, bidi overrides and isolates, line/paragraph separators.
const controls = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

/** One line made printable: escape sequences and control characters dropped. */
export function cleanLogLine(line: string): string {
  return line.replace(escapes, '').replace(/\t/g, ' ').replace(controls, '');
}

/** The newest lines that fit the bounds, oldest first; one line longer than the budget is cut at its end. */
export function boundLogLines(lines: readonly string[]): string[] {
  const out: string[] = [];
  let budget = LOG_LIMITS.bytes;
  for (let i = lines.length - 1; i >= 0 && out.length < LOG_LIMITS.lines; i--) {
    let line = cleanLogLine(lines[i]!);
    let size = utf8Length(line);
    if (size > budget) {
      if (out.length > 0) break;
      // The newest line alone is too long: keep its start.
      while (size > budget) {
        line = line.slice(0, Math.max(0, line.length - Math.max(1, Math.ceil((size - budget) / 4))));
        size = utf8Length(line);
      }
    }
    out.unshift(line);
    budget -= size;
  }
  return out;
}

/** Whether `lines` is within the bounds (the hub's check of what an agent sends). */
export function logLinesWithin(lines: readonly string[]): boolean {
  return lines.length <= LOG_LIMITS.lines && lines.reduce((n, l) => n + utf8Length(l), 0) <= LOG_LIMITS.bytes;
}
