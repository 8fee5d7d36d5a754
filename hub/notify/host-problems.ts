// What is wrong with each host right now, as far as notifications and commit
// statuses care: failed, refused, rolled back, drifted, offline — each with
// the revision it concerns and a short message. Fed with every status and
// connection change: a single hub's own agent sessions, or on a cluster's
// leader the whole fleet (fleet-problem-feed.ts); tells its listeners
// which problems began and ended, so events are derived from transitions, not
// from every report.
import type { HostStatus } from '../../shared/status.ts';
import { hostSync } from '../fleet/rollup.ts';
import type { SecretValues } from '../../shared/secrets/mask.ts';
import { boundText } from './bound-text.ts';

export const problemKinds = ['failed', 'refused', 'rolledBack', 'drifted', 'offline'] as const;
export type ProblemKind = (typeof problemKinds)[number];

export interface Problem {
  revision: string | null;
  /** Bounded, redacted and masked: safe to send anywhere. */
  message: string;
}
export type HostProblems = Partial<Record<ProblemKind, Problem>>;

/** One problem of one host began (`before` null), ended (`after` null), or moved to another revision. */
export interface ProblemTransition {
  host: string;
  kind: ProblemKind;
  before: Problem | null;
  after: Problem | null;
}

export interface ProblemListener {
  transition?(t: ProblemTransition): void;
  /** After every status or connection change of a host, transitions or not (progress of a revision). */
  changed?(host: string): void;
}

/** The problems a status shows (offline is not in a status: it comes from the connection). */
export function statusProblems(status: HostStatus, clean: (text: string) => string): Omit<HostProblems, 'offline'> {
  const out: HostProblems = {};
  const sync = hostSync(status);
  const ready = status.conditions.find((c) => c.type === 'Ready');
  const newest = status.attempts[0];
  if (sync === 'Failed') {
    const failedResources = status.resources.filter((r) => r.sync === 'Failed');
    const why = ready && !ready.status && ready.message ? ready.message : failedResources.map((r) => `${r.id}: ${r.message ?? 'failed'}`).join('; ');
    out.failed = { revision: status.lastAttemptedRevision, message: clean(why || 'failed') };
  }
  if (status.refused) out.refused = { revision: status.refused.revision, message: clean(`${status.refused.reason}: ${status.refused.message}`) };
  if (newest?.result === 'RolledBack') out.rolledBack = { revision: newest.revision, message: clean([newest.reason, newest.message].filter(Boolean).join(': ') || 'rolled back') };
  if (sync === 'Drifted') {
    const drifted = status.resources.filter((r) => r.sync === 'Drifted').map((r) => r.id);
    out.drifted = { revision: status.lastAppliedRevision, message: clean(`${drifted.length} resource(s) drifted: ${drifted.slice(0, 5).join(', ')}${drifted.length > 5 ? ', …' : ''}`) };
  }
  return out;
}

interface HostEntry {
  problems: HostProblems;
  lastApplied: string | null;
}

export class HostProblemTracker {
  readonly #hosts = new Map<string, HostEntry>();
  readonly #listeners = new Set<ProblemListener>();
  readonly #clean: (text: string) => string;

  constructor(secrets: SecretValues, messageChars = 300) {
    this.#clean = (text) => boundText(secrets.mask(text), messageChars);
  }

  subscribe(listener: ProblemListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  problems(host: string): HostProblems {
    return this.#hosts.get(host)?.problems ?? {};
  }

  status(host: string, status: HostStatus): void {
    const entry = this.entry(host);
    entry.lastApplied = status.lastAppliedRevision;
    const next: HostProblems = statusProblems(status, this.#clean);
    if (entry.problems.offline) next.offline = entry.problems.offline;
    this.replace(host, entry, next);
  }

  connected(host: string, online: boolean): void {
    const entry = this.entry(host);
    const next: HostProblems = { ...entry.problems };
    if (online) delete next.offline;
    else if (!next.offline) next.offline = { revision: entry.lastApplied, message: 'the agent\'s connection closed or went silent' };
    this.replace(host, entry, next);
  }

  /** A deleted host: its problems end without a recovery (listeners see no transition). */
  removed(host: string): void {
    this.#hosts.delete(host);
  }

  private entry(host: string): HostEntry {
    let e = this.#hosts.get(host);
    if (!e) {
      e = { problems: {}, lastApplied: null };
      this.#hosts.set(host, e);
    }
    return e;
  }

  private replace(host: string, entry: HostEntry, next: HostProblems): void {
    const before = entry.problems;
    entry.problems = next;
    for (const kind of problemKinds) {
      const b = before[kind] ?? null;
      const a = next[kind] ?? null;
      if (b === null && a === null) continue;
      if (b !== null && a !== null && b.revision === a.revision) continue;
      for (const l of this.#listeners) l.transition?.({ host, kind, before: b, after: a });
    }
    for (const l of this.#listeners) l.changed?.(host);
  }
}
