// Structured JSON logs (pino), one child logger per component. The daemon logs
// to stdout for journald; one-shot commands log warnings and errors to stderr
// and keep stdout for their human or --json output.
import { pino, type Logger } from 'pino';

export function createLogger(options: { level?: string; toStderr?: boolean } = {}): Logger {
  const level = options.level ?? process.env.GITFLEET_LOG_LEVEL ?? 'info';
  return pino({ level, base: { service: 'gitfleet-agent' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(options.toStderr ? 2 : 1));
}
