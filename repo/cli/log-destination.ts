// Where the agent's and the hub's log lines go, and in which form: JSON (one
// object a line) for journald and log shippers, human-readable lines when the
// stream is a terminal — a person running `gitfleet agent`, `plan` or `hub` in
// a shell should not read JSON mixed into the output. GITFLEET_LOG_FORMAT=json|text
// overrides, for both.
// Text that came from elsewhere (a message from Git, a path) is escaped for
// the terminal like everything else the CLI prints.
import { writeSync } from 'node:fs';
import { pino } from 'pino';
import { terminalText } from '../../shared/terminal-text.ts';
import { isTerminal } from './terminal.ts';

const levelNames: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const internal = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

/** One JSON log line as one human line: `12:00:01 WARN  component: message key=value …`. */
export function humanLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return terminalText(json.trimEnd());
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const level = (levelNames[Number(entry.level)] ?? String(entry.level)).padEnd(5);
  const component = typeof entry.component === 'string' ? `${entry.component}: ` : '';
  const fields = Object.entries(entry)
    .filter(([k]) => !internal.has(k) && k !== 'component')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return terminalText(`${time} ${level} ${component}${String(entry.msg ?? '')}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}`);
}

export function logDestination(fd: 1 | 2, format = process.env.GITFLEET_LOG_FORMAT): pino.DestinationStream {
  const human = format === 'text' || (format !== 'json' && isTerminal(fd));
  if (!human) return pino.destination(fd);
  return { write: (line: string) => void writeSync(fd, `${humanLine(line)}\n`) };
}
