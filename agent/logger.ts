// Structured JSON logs (pino), one child logger per component. The daemon logs
// to stdout for journald (JSON; human lines on a terminal: repo/cli/log-destination.ts);
// one-shot commands log warnings and errors to stderr
// and keep stdout for their human or --json output.
import { pino, type Logger } from 'pino';
import { logDestination } from '../repo/cli/log-destination.ts';
import { processSecrets } from '../shared/secrets/mask.ts';

export function createLogger(options: { level?: string; toStderr?: boolean } = {}): Logger {
  const level = options.level ?? process.env.GITFLEET_LOG_LEVEL ?? 'info';
  // Every argument is masked before pino sees it: no decrypted value reaches a log line (docs/secrets.md).
  const hooks = {
    logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void): void {
      method.apply(this, processSecrets.size === 0 ? args : args.map((a) => processSecrets.maskDeep(a)));
    },
  };
  return pino({ level, base: { service: 'gitfleet-agent' }, timestamp: pino.stdTimeFunctions.isoTime, hooks }, logDestination(options.toStderr ? 2 : 1));
}
