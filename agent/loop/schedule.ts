// Timers for the agent: jitter, so a fleet does not hit the Git server in
// lockstep, and the Git poll as a cron expression (node-cron). Interval polls
// and the drift check are armed by the daemon itself (agent-daemon.ts): each
// pass moves the next drift check.
import cron from 'node-cron';

export interface Cancel {
  (): void;
}

/** ±`fraction` of `ms`, so 1000 hosts polling every 60 s spread over 12 s. */
export function jittered(ms: number, fraction = 0.1, random: () => number = Math.random): number {
  return Math.max(0, Math.round(ms * (1 - fraction + 2 * fraction * random())));
}

/** A cron expression ("*\/5 * * * *"); each tick is delayed by up to `maxJitterMs`. */
export function onCron(expression: string, fn: () => void, maxJitterMs: number): Cancel {
  if (!cron.validate(expression)) throw new Error(`"${expression}" is not a valid cron expression`);
  const pending = new Set<NodeJS.Timeout>();
  const task = cron.schedule(expression, () => {
    const t = setTimeout(() => {
      pending.delete(t);
      fn();
    }, Math.round(Math.random() * maxJitterMs));
    t.unref();
    pending.add(t);
  });
  return () => {
    void task.stop();
    for (const t of pending) clearTimeout(t);
  };
}
