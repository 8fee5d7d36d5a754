// The rollout state machine, as pure steps over a stored record: the
// coordinator calls advance() on every tick and after every admin action, and
// stores the record when it changed. Times are absolute, so a hub that
// restarts resumes exactly where it was (a soak that ended while it was down
// is over; a wave timeout that passed counts its stragglers).
import { insideWindow } from '../../repo/rollout/rollout-schema.ts';
import type { HostProgress } from './host-progress.ts';
import type { RolloutRecord } from './rollout-record.ts';
import { record } from './rollout-record.ts';

const HUB = 'hub';

function countFailures(r: RolloutRecord, progress: (host: string) => HostProgress): boolean {
  const failed = new Set(r.failed);
  const before = failed.size;
  for (const wave of r.waves) {
    if (wave.openedAt === null) continue;
    for (const h of wave.hosts) if (!failed.has(h) && progress(h) === 'failed') failed.add(h);
  }
  if (failed.size === before) return false;
  r.failed = [...failed].sort();
  return true;
}

function halt(r: RolloutRecord, why: string, at: string, by = HUB): void {
  r.state = 'halted';
  r.haltReason = why;
  r.soakUntil = null;
  record(r, 'halted', by, at, why);
}

function overBudget(r: RolloutRecord, at: string): boolean {
  if (r.failed.length <= r.budget) return false;
  halt(r, `${r.failed.length} host(s) failed, over the failure budget of ${r.budget}: ${r.failed.slice(0, 5).join(', ')}${r.failed.length > 5 ? ', …' : ''}`, at);
  return true;
}

function openWave(r: RolloutRecord, at: string, by = HUB, note?: string): void {
  const wave = r.waves[r.current]!;
  wave.openedAt = at;
  r.soakUntil = null;
  record(r, 'opened', by, at, note ?? `${wave.name}: ${wave.hosts.length} host(s)`);
}

function closeWave(r: RolloutRecord, now: Date, action: 'closed' | 'timed-out', by = HUB, note?: string): void {
  const at = now.toISOString();
  const wave = r.waves[r.current]!;
  wave.closedAt = at;
  record(r, action, by, at, note ?? wave.name);
  r.current++;
  if (r.current >= r.waves.length) {
    r.state = 'done';
    r.soakUntil = null;
    record(r, 'done', HUB, at);
  } else {
    r.soakUntil = new Date(now.getTime() + r.policy.soakMs).toISOString();
  }
}

/** One step of a running rollout; true when the record changed (store it, send the new releases). */
export function advance(r: RolloutRecord, progress: (host: string) => HostProgress, now: Date): boolean {
  if (r.state !== 'running') return false;
  const at = now.toISOString();
  let changed = countFailures(r, progress);
  if (changed) r.updatedAt = at;
  if (overBudget(r, at)) return true;
  // A loop, not one step: an empty wave (or one all done already) closes at once, and a zero soak opens the next.
  for (let guard = 0; guard <= r.waves.length * 2 && r.state === 'running'; guard++) {
    const wave = r.waves[r.current];
    if (!wave) break;
    if (wave.openedAt === null) {
      if (r.soakUntil !== null && now.getTime() < Date.parse(r.soakUntil)) break;
      if (!insideWindow(r.policy.window, now)) break;
      openWave(r, at);
      changed = true;
      continue;
    }
    const failed = new Set(r.failed);
    const waiting = wave.hosts.filter((h) => !failed.has(h) && progress(h) !== 'done');
    if (waiting.length === 0) {
      closeWave(r, now, 'closed');
      changed = true;
      continue;
    }
    const timeout = r.policy.waveTimeoutMs;
    if (timeout !== null && now.getTime() - Date.parse(wave.openedAt) >= timeout) {
      r.failed = [...new Set([...r.failed, ...waiting])].sort();
      closeWave(r, now, 'timed-out', HUB, `${wave.name}: ${waiting.length} host(s) not done after the wave timeout, counted failed: ${waiting.slice(0, 5).join(', ')}${waiting.length > 5 ? ', …' : ''}`);
      changed = true;
      if (overBudget(r, at)) return true;
      continue;
    }
    break;
  }
  return changed;
}

export const adminActions = ['pause', 'resume', 'promote', 'abort'] as const;
export type AdminAction = (typeof adminActions)[number];

/**
 * An admin's action, recorded with who and when. pause: open no more waves;
 * resume: a paused rollout, or a halted one (its budget is raised to the
 * failures so far, so it goes on); promote: open the next wave now — the open
 * wave is closed as it stands (its stragglers are not counted failed) and the
 * soak and the window are skipped; abort: stop for good, with the policy's
 * onHalt (rollback returns the updated hosts to their baseline).
 */
export function applyAdminAction(r: RolloutRecord, action: AdminAction, by: string, now: Date): { ok: true } | { ok: false; why: string } {
  const at = now.toISOString();
  const final = r.state === 'done' || r.state === 'superseded' || r.state === 'aborted';
  if (final) return { ok: false, why: `rollout ${r.id} is ${r.state}` };
  switch (action) {
    case 'pause':
      if (r.state !== 'running') return { ok: false, why: `rollout ${r.id} is ${r.state}, not running` };
      r.state = 'paused';
      record(r, 'pause', by, at);
      return { ok: true };
    case 'resume':
      if (r.state === 'running') return { ok: false, why: `rollout ${r.id} is already running` };
      if (r.state === 'halted') {
        r.budget = Math.max(r.budget, r.failed.length);
        r.haltReason = null;
      }
      r.state = 'running';
      record(r, 'resume', by, at, `failure budget ${r.budget}`);
      return { ok: true };
    case 'promote': {
      if (r.state !== 'running' && r.state !== 'paused') return { ok: false, why: `rollout ${r.id} is ${r.state}; resume it first` };
      const wave = r.waves[r.current];
      if (!wave) return { ok: false, why: `rollout ${r.id} has no wave left` };
      if (wave.openedAt !== null) {
        closeWave(r, now, 'closed', by, `${wave.name} (promoted)`);
        if (r.current >= r.waves.length) {
          record(r, 'promote', by, at);
          return { ok: true };
        }
      }
      openWave(r, at, by, `${r.waves[r.current]!.name}: ${r.waves[r.current]!.hosts.length} host(s) (promoted)`);
      record(r, 'promote', by, at);
      return { ok: true };
    }
    case 'abort':
      r.state = 'aborted';
      r.soakUntil = null;
      r.haltReason = `aborted by ${by}`;
      record(r, 'abort', by, at, r.policy.onHalt === 'rollback' ? 'updated hosts return to their previous revision' : 'hosts stay where they are');
      return { ok: true };
  }
}
