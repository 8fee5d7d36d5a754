// `agent --once` while a new revision waits on its health gate: what it waits
// on and for how long, on stderr (stdout keeps the result). On a terminal one
// line rewritten in place (`waiting for container/web healthy 12s/60s`);
// otherwise (a log, a CI job) one line each time the set of resources it
// waits on changes, so a pipe is not flooded with one line per poll.
import { terminalText } from '../../shared/terminal-text.ts';
import type { HealthWait } from '../engine/converge.ts';

export interface HealthProgress {
  onHealthWait(progress: HealthWait): void;
  /** Clears a terminal's progress line before the result is printed. */
  done(): void;
}

const seconds = (ms: number): string => `${Math.floor(ms / 1000)}s`;

export function healthWaitLine(progress: HealthWait): string {
  const time = `${seconds(progress.elapsedMs)}/${seconds(progress.timeoutMs)}`;
  if (progress.pending.length === 0) return `waiting: everything healthy, watching that it stays so ${time}`;
  const shown = progress.pending.slice(0, 3).map((p) => (p.waitingOnDependency ? `${p.id} (after its dependencies)` : p.id));
  const more = progress.pending.length > 3 ? ` and ${progress.pending.length - 3} more` : '';
  return terminalText(`waiting for ${shown.join(', ')}${more} healthy ${time}`);
}

export function healthProgress(write: (text: string) => void, tty: boolean): HealthProgress {
  let shownKey: string | null = null;
  let onScreen = false;
  return {
    onHealthWait(progress) {
      const line = healthWaitLine(progress);
      if (tty) {
        // Rewritten in place; only when the text changes (the seconds tick, or what it waits on).
        if (line === shownKey) return;
        shownKey = line;
        write(`\r\u001b[K${line}`);
        onScreen = true;
        return;
      }
      const key = progress.pending.map((p) => `${p.id}:${p.waitingOnDependency}`).join(',');
      if (key === shownKey) return;
      shownKey = key;
      write(`${line}\n`);
    },
    done() {
      if (onScreen) write('\r\u001b[K');
      onScreen = false;
    },
  };
}
