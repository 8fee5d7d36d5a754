// Timers for the agent: the Git poll (an interval, or a cron expression via
// node-cron) with jitter so a fleet does not hit the Git server in lockstep,
// and the periodic drift check.
import cron from 'node-cron';

export interface Cancel {
  (): void;
}

/** ±`fraction` of `ms`, so 1000 hosts polling every 60 s spread over 12 s. */
export function jittered(ms: number, fraction = 0.1, random: () => number = Math.random): number {
  return Math.max(0, Math.round(ms * (1 - fraction + 2 * fraction * random())));
}

/** Calls `fn` every `ms` (with jitter), never overlapping the previous call's scheduling. */
export function every(ms: number, fn: () => void, jitter = 0.1): Cancel {
  let timer: NodeJS.Timeout | null = null;
  let cancelled = false;
  const arm = () => {
    timer = setTimeout(() => {
      if (cancelled) return;
      fn();
      arm();
    }, jittered(ms, jitter));
    timer.unref();
  };
  arm();
  return () => {
    cancelled = true;
    if (timer) clearTimeout(timer);
  };
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
