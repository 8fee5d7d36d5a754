// One reconcile of the host, as explicit phases (after Flux's reconcilers):
//
//   sync source → evaluate → admit → apply (+ health gate) → verdict / rollback → record
//
// Every exit records the attempt and the conditions. Failures are sorted by
// cause (retry-policy.ts): a head refused for its commit (signature, ancestry,
// validation, policy) is a loud, stalled refusal that is not retried until the
// head or the config changes; a head that failed on the host is rolled back and
// retried with backoff. An AbortSignal stops a reconcile at a safe point (between
// phases, and during the health wait) so the agent can stop promptly.
import type { Logger } from 'pino';
import { isGitfleetError, messageOf } from '../../shared/errors.ts';
import type { DesiredState } from '../../shared/resources.ts';
import type { Attempt, AttemptResult, ConditionReason, Refusal, Trigger } from '../../shared/status.ts';
import type { Drivers } from '../drivers/types.ts';
import { converge, type ConvergeResult, type HealthWait } from '../engine/converge.ts';
import type { FlapGuard } from '../engine/flap-guard.ts';
import type { Inventory } from '../engine/model.ts';
import type { DesiredSource, Snapshot } from '../source/desired-source.ts';
import type { StateStore, Revisions } from '../state/state-store.ts';
import type { StatusRecorder } from '../state/status-recorder.ts';
import { abortableSleep, checkpoint } from './abort.ts';
import { decide, defaultRetry, rejectionOf, retryDelay, type Rejection, type RetryOptions } from './retry-policy.ts';

export interface Target {
  revision: string;
  desired: DesiredState;
}

export interface ReconcilerDeps {
  source: DesiredSource;
  /** Evaluates a snapshot's tree for this host (repo/tree's loadDesiredState, bound to host and place). */
  load: (treeDir: string) => Promise<DesiredState>;
  drivers: Drivers;
  store: StateStore;
  recorder: StatusRecorder;
  flapGuard: FlapGuard;
  logger: Logger;
  healthTimeoutMs: number;
  /** How long everything must stay healthy after a new revision before the verdict. */
  healthSettleMs?: number;
  /** Checks a desired state before it is applied (the host policy, agent/policy); throws a commit failure. */
  admit?: (desired: DesiredState, treeDir: string) => void | Promise<void>;
  onEvent?: (event: { reason: string; message: string; resource?: string; level: 'info' | 'warning' | 'error' }) => void;
  /** Every time the source could not be read or its head was refused (the agent's metrics count them). */
  onSourceError?: (code: string) => void;
  now?: () => number;
  /** Backoff of host-failure retries (agent config `retryInterval`). */
  retry?: RetryOptions;
  /** A fingerprint of the agent configuration and host policy: a commit refusal is retried when it changes (read on every pass). */
  configKey?: string | (() => string);
  /** Health-gate poll interval (tests make it short). */
  healthPollMs?: number;
  /** Adoption on for every revision (the agent's `adopt`/`--adopt`; host.yaml `adopt: true` per host): docs/adopt.md. */
  adopt?: boolean;
  /** Each poll of a health gate (the CLI's `--once` prints it). */
  onHealthWait?: (progress: HealthWait) => void;
}

export interface Outcome {
  result: AttemptResult | 'NoChange';
  /** The host is at the head, converged and healthy. False whenever the head is refused or failed. */
  converged: boolean;
  reason?: string;
  message?: string;
  /** The revision the host enforces now. */
  revision: string | null;
  /** The refused head, while the head is refused. */
  refused?: Refusal | null;
  /** Epoch ms when a host failure should be retried; absent: nothing to retry. */
  retryAt?: number | null;
}

/** @deprecated the old name of Outcome. */
export type CycleOutcome = Outcome;

interface Pass {
  trigger: Trigger;
  started: number;
  signal: AbortSignal | undefined;
}

const syncsSource: ReadonlySet<Trigger> = new Set(['startup', 'poll', 'hub', 'manual', 'retry']);
const fullRevision = /\b([0-9a-f]{64}|[0-9a-f]{40})\b/;

function codeOf(error: unknown): ConditionReason {
  return isGitfleetError(error) ? error.code : 'INTERNAL';
}

export class Reconciler {
  private target: Target | null = null;
  private inventory: Inventory | null = null;
  private revisions: Revisions | null = null;
  /** The head refused right now (from the source or the last evaluation). */
  private refusal: Refusal | null = null;
  /** Enforce passes in a row that failed on the host, for their retry backoff. */
  private enforceFailures = 0;
  /** The config key (host policy included) the current target was admitted under; a change re-admits it. */
  private admittedKey: string | null = null;
  /** A new revision while it is being applied (not yet the current one). */
  private applyingTarget: Target | null = null;

  constructor(private readonly deps: ReconcilerDeps) {}

  get current(): Target | null {
    return this.target;
  }

  /** The new revision being applied right now, until it is the current one or failed. */
  get applying(): Target | null {
    return this.applyingTarget;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private get configKey(): string {
    const key = this.deps.configKey;
    return typeof key === 'function' ? key() : (key ?? '');
  }

  /** Runs one reconcile; never throws for host or source problems (they are recorded). */
  async run(trigger: Trigger, options: { signal?: AbortSignal } = {}): Promise<Outcome> {
    const pass: Pass = { trigger, started: this.now(), signal: options.signal };
    this.deps.recorder.setCondition('Reconciling', { status: true, reason: 'Progressing', message: `reconcile triggered by ${trigger}` });
    let aborted = false;
    try {
      const outcome = await this.reconcile(pass);
      const retryAt = this.nextRetry(outcome.retryAt ?? null);
      this.deps.recorder.setRetryState({ refused: this.refusal, nextRetryAt: retryAt === null ? null : new Date(retryAt).toISOString() });
      const { retryAt: _ignored, ...rest } = outcome;
      return { ...rest, refused: this.refusal, ...(retryAt === null ? {} : { retryAt }) };
    } catch (error) {
      if (!options.signal?.aborted) throw error;
      aborted = true;
      this.deps.logger.warn({ trigger }, 'reconcile aborted: the agent is stopping');
      return { result: 'Failed', converged: false, reason: 'Aborted', message: 'the agent stopped during the reconcile', revision: this.target?.revision ?? null, refused: this.refusal };
    } finally {
      this.deps.recorder.setCondition('Reconciling', { status: false, reason: aborted ? 'Aborted' : 'Idle', message: `last reconcile triggered by ${trigger}` });
      await this.deps.store.saveStatus(this.deps.recorder.snapshot).catch((error: unknown) => this.deps.logger.error({ err: messageOf(error) }, 'cannot write status'));
    }
  }

  /** The earliest retry due: this pass's, or a head that failed on the host and waits for its retry. */
  private nextRetry(fromPass: number | null): number | null {
    const rejection = this.revisions ? rejectionOf(this.revisions) : null;
    const pending = rejection && rejection.cause !== 'commit' && rejection.revision !== this.revisions?.lastApplied ? (rejection.nextRetryAt ?? null) : null;
    if (fromPass === null) return pending;
    return pending === null ? fromPass : Math.min(fromPass, pending);
  }

  // ---- the phases ----

  private async reconcile(pass: Pass): Promise<Outcome> {
    await this.restoreLastApplied();
    checkpoint(pass.signal);
    const { revisions } = await this.state();
    if (!syncsSource.has(pass.trigger) && this.target) return this.enforce(this.target, pass);

    let snapshot: Snapshot;
    try {
      snapshot = await this.syncSource(revisions);
    } catch (error) {
      checkpoint(pass.signal);
      return this.sourceFailed(pass, error);
    }
    checkpoint(pass.signal);
    this.refusal = null;

    // The head is what the host already runs: keep it there.
    if (this.target && snapshot.revision === this.target.revision && snapshot.revision === revisions.lastApplied) {
      const readmitted = await this.readmit(pass, this.target, snapshot, revisions);
      if (readmitted) return readmitted;
      if (revisions.rejected) await this.saveRevisions({ rejected: null });
      this.clearStalled();
      return this.enforce(this.target, pass);
    }
    // Only a revision that was applied and found healthy is something to go back to.
    const previous = this.target && this.target.revision === revisions.lastApplied ? this.target : null;
    const rejection = rejectionOf(revisions);
    const decision = decide(rejection, snapshot.revision, pass.trigger, this.configKey, this.now());
    if (decision === 'refused') return this.stillRefused(pass, rejection!);
    if (decision === 'waiting') return this.waitingForRetry(pass, rejection!);

    let fresh: Target;
    const key = this.configKey;
    try {
      const desired = await this.evaluate(snapshot);
      await this.admit(desired, snapshot.treeDir);
      fresh = { revision: snapshot.revision, desired };
    } catch (error) {
      return this.refuse(pass, snapshot.revision, error);
    }
    checkpoint(pass.signal);
    return this.applyNew(fresh, previous, pass, key);
  }

  /** Phase 1: the source's head, verified (signature, ancestry). Throws GitfleetError. */
  private syncSource(revisions: Revisions): Promise<Snapshot> {
    return this.deps.source.sync({ lastApplied: revisions.lastApplied });
  }

  /** Phase 2: the commit's desired state for this host. Throws a validation error (a commit failure). */
  private evaluate(snapshot: Snapshot): Promise<DesiredState> {
    return this.deps.load(snapshot.treeDir);
  }

  /**
   * The running revision under a changed host policy: admitted again. One the
   * new policy refuses is reported as refused (Stalled, once) and kept
   * enforced — what it applied is not torn down — until a compliant head
   * arrives or the policy changes again. Null: it is still allowed.
   */
  private async readmit(pass: Pass, target: Target, snapshot: Snapshot, revisions: Revisions): Promise<Outcome | null> {
    const key = this.configKey;
    if (this.admittedKey === key) return null;
    const rejection = rejectionOf(revisions);
    if (rejection && rejection.revision === target.revision && rejection.cause === 'commit' && rejection.configKey === key && pass.trigger !== 'manual') return this.stillRefused(pass, rejection);
    try {
      await this.admit(target.desired, snapshot.treeDir);
    } catch (error) {
      return this.refuse(pass, target.revision, error);
    }
    this.admittedKey = key;
    return null;
  }

  /** Phase 3: what this agent may apply (the host policy narrowed by the repo's). Throws a commit failure. */
  private async admit(desired: DesiredState, treeDir: string): Promise<void> {
    await this.deps.admit?.(desired, treeDir);
  }

  /**
   * Phases 4 and 5: converge the host to the target; with a health timeout,
   * converge also waits (abortably) until everything is healthy and stays so.
   */
  private async apply(target: Target, healthTimeoutMs: number, pass: Pass, correctReportedDrift = pass.trigger === 'manual'): Promise<ConvergeResult> {
    const { inventory } = await this.state();
    const result = await converge(this.deps.drivers, target.desired, inventory, {
      revision: target.revision,
      healthTimeoutMs,
      correctReportedDrift,
      ...(this.deps.adopt ? { adopt: true } : {}),
      ...(this.deps.healthSettleMs === undefined ? {} : { settleMs: this.deps.healthSettleMs }),
      ...(this.deps.healthPollMs === undefined ? {} : { pollMs: this.deps.healthPollMs }),
      ...(this.deps.onHealthWait ? { onHealthWait: this.deps.onHealthWait } : {}),
      flapGuard: this.deps.flapGuard,
      sleep: (ms) => abortableSleep(ms, pass.signal),
      saveInventory: async (inv) => {
        this.inventory = inv;
        await this.deps.store.saveInventory(inv);
      },
      onStep: (r) => {
        const level = r.ok ? 'info' : 'error';
        this.deps.logger[level]({ step: r.step.type, resource: r.step.resource, cause: r.step.cause, ...(r.error ? { err: r.error.message, code: r.error.code } : {}) }, r.ok ? 'step applied' : 'step failed');
        if (!r.skipped) this.deps.onEvent?.({ reason: r.ok ? `${r.step.cause}:${r.step.type}` : `failed:${r.step.type}`, message: r.ok ? r.step.reason : (r.error?.message ?? 'failed'), ...(r.step.resource ? { resource: r.step.resource } : {}), level: r.ok ? 'info' : 'error' });
      },
    });
    this.inventory = result.inventory;
    this.deps.recorder.setResources(result.statuses);
    // Said once per resource, when it is recorded as adopted (its status keeps saying it: adoption: Adopted).
    for (const id of result.adopted) {
      this.deps.logger.info({ resource: id }, 'adopted as found');
      this.deps.onEvent?.({ reason: 'Adopted', message: `${id} taken over as it was found: it matches its declaration (not recreated, rewritten or restarted)`, resource: id, level: 'info' });
    }
    return result;
  }

  /** Phase 6a: did a new revision make it? */
  private verdict(run: ConvergeResult, revision: string): { ok: true } | { ok: false; reason: 'ApplyFailed' | 'HealthCheckFailed'; message: string } {
    if (run.failures.length === 0 && run.healthy && run.converged) return { ok: true };
    const problems = run.failures.length
      ? run.failures.map((f) => `${f.resource ?? ''}: ${f.message}`)
      : run.statuses.filter((s) => s.health !== 'Healthy' || (s.sync !== 'InSync' && s.sync !== 'Ignored')).map((s) => `${s.id}: ${s.sync}/${s.health}${s.message ? ` (${s.message})` : ''}`);
    return { ok: false, reason: run.failures.length ? 'ApplyFailed' : 'HealthCheckFailed', message: `revision ${revision.slice(0, 12)} failed: ${problems.join('; ')}`.slice(0, 4096) };
  }

  /** Phase 7: the attempt, in the status's history. */
  private record(pass: Pass, revision: string, result: AttemptResult, run: Partial<ConvergeResult>, reason?: string, message?: string, trigger: Trigger = pass.trigger, started = pass.started): void {
    const attempt: Attempt = {
      trigger,
      revision,
      startedAt: new Date(started).toISOString(),
      durationMs: Math.max(0, this.now() - started),
      result,
      intended: run.intended ?? [],
      driftCorrected: run.driftCorrected ?? [],
      ...(reason === undefined ? {} : { reason }),
      ...(message === undefined ? {} : { message: message.slice(0, 4096) }),
    };
    this.deps.recorder.addAttempt(attempt);
  }

  // ---- what each exit does ----

  /** The source failed. A commit-caused refusal (signature, ancestry) is loud; an outage is retried quietly. */
  private async sourceFailed(pass: Pass, error: unknown): Promise<Outcome> {
    const code: ConditionReason = isGitfleetError(error) ? error.code : 'GIT_FAILED';
    const message = `source ${this.deps.source.description}: ${messageOf(error)}`;
    this.deps.onSourceError?.(code);
    if (isGitfleetError(error) && !error.retryable) {
      const revision = fullRevision.exec(messageOf(error))?.[1] ?? null;
      const known = this.refusal ?? this.deps.recorder.snapshot.refused ?? null;
      const repeated = known !== null && known.reason === code && known.revision === revision;
      this.refusal = { revision, reason: code, message: message.slice(0, 4096), since: repeated ? known.since : new Date(this.now()).toISOString() };
      this.setStalled(code, message);
      // Said once per refused head (and on every manual sync), not on every poll.
      if (!repeated || pass.trigger === 'manual') {
        this.record(pass, revision ?? (await this.state()).revisions.lastAttempted ?? 'unknown', 'Refused', {}, code, message);
        this.deps.onEvent?.({ reason: code, message, level: 'error' });
        this.deps.logger.error({ code, revision, err: messageOf(error) }, 'head refused; keeping the last good revision');
      }
      return this.withRefusal(pass, code, message);
    }
    this.deps.recorder.setCondition('Stalled', { status: false, reason: code, message: `${message} (retrying; enforcing the last good revision)` });
    this.deps.onEvent?.({ reason: code, message, level: 'warning' });
    this.deps.logger.warn({ code, err: messageOf(error) }, 'source unavailable; enforcing the last good revision');
    if (!this.target) return { result: 'Failed', converged: false, reason: code, message, revision: null };
    return this.enforce(this.target, pass);
  }

  /** A head refused for its commit (evaluation, admission, empty-state guard): not retried until head or config change. */
  private async refuse(pass: Pass, revision: string, error: unknown): Promise<Outcome> {
    const code = codeOf(error);
    const message = `revision ${revision.slice(0, 12)} refused: ${messageOf(error)}`.slice(0, 4096);
    const since = new Date(this.now()).toISOString();
    const rejection: Rejection = { revision, reason: message, code, cause: 'commit', configKey: this.configKey, failures: 0, nextRetryAt: null, since };
    await this.saveRevisions({ lastAttempted: revision, rejected: rejection });
    this.refusal = { revision, reason: code, message, since };
    this.record(pass, revision, 'Refused', {}, code, message);
    this.setStalled(code, message);
    this.deps.onEvent?.({ reason: code, message, level: 'error' });
    this.deps.logger.error({ revision, code, err: messageOf(error) }, 'revision refused; keeping the last good revision');
    if (!isGitfleetError(error)) this.deps.logger.error({ err: error }, 'evaluation failed unexpectedly');
    return this.withRefusal(pass, code, message);
  }

  /** The head was refused before, for its commit, under this same config: say so again, enforce the last good revision. */
  private stillRefused(pass: Pass, rejection: Rejection): Promise<Outcome> {
    const code = (rejection.code ?? 'INTERNAL') as ConditionReason;
    this.refusal = { revision: rejection.revision, reason: code, message: rejection.reason.slice(0, 4096), since: rejection.since ?? new Date(this.now()).toISOString() };
    this.setStalled(code, rejection.reason);
    return this.withRefusal(pass, code, rejection.reason);
  }

  /** The host is kept on its last good revision while the head is refused: the outcome is a refusal whatever the host did. */
  private async withRefusal(pass: Pass, code: string, message: string): Promise<Outcome> {
    if (!this.target) {
      this.deps.recorder.setCondition('Ready', { status: false, reason: 'NoRevision', message: 'no revision has been applied yet and the head is refused' });
      return { result: 'Refused', converged: false, reason: code, message, revision: null };
    }
    const kept = await this.enforce(this.target, pass);
    return { ...kept, result: 'Refused', converged: false, reason: code, message };
  }

  /** The head failed on the host and its retry is not due: enforce what the host has, wait for the retry time. */
  private async waitingForRetry(pass: Pass, rejection: Rejection): Promise<Outcome> {
    const code = (rejection.code ?? 'ApplyFailed') as ConditionReason;
    const at = rejection.nextRetryAt ?? this.now();
    this.setStalled(code, `${rejection.reason}; retrying at ${new Date(at).toISOString()}`);
    if (!this.target) return { result: 'Failed', converged: false, reason: code, message: rejection.reason, revision: null, retryAt: at };
    const kept = await this.enforce(this.target, pass);
    return { ...kept, converged: false };
  }

  /** Keeps the host at the current revision: drift is corrected, nothing new is applied. */
  private async enforce(target: Target, pass: Pass): Promise<Outcome> {
    let run: ConvergeResult;
    try {
      run = await this.apply(target, 0, pass);
    } catch (error) {
      if (pass.signal?.aborted) throw error;
      const code = codeOf(error);
      const message = messageOf(error);
      this.record(pass, target.revision, 'Failed', {}, code, message);
      this.deps.recorder.setCondition('Ready', { status: false, reason: code, message });
      if (!isGitfleetError(error)) this.deps.logger.error({ err: error }, 'reconcile failed unexpectedly');
      return { result: 'Failed', converged: false, reason: code, message, revision: target.revision, retryAt: this.enforceRetry(true) };
    }
    this.setReady(run, target.revision);
    const changed = run.intended.length + run.driftCorrected.length + run.failures.length > 0;
    // Steps that ran but left the host unconverged (something died again) are a failed attempt, not a success.
    const failed = run.failures.length > 0 || (changed && !run.converged);
    const reason = run.failures[0]?.code ?? (failed ? 'NOT_CONVERGED' : undefined);
    const message = run.failures[0]?.message ?? (failed ? this.unconverged(run) : undefined);
    if (changed) this.record(pass, target.revision, failed ? 'Failed' : 'Succeeded', run, reason, message);
    const retryAt = this.enforceRetry(failed);
    return {
      result: changed ? (failed ? 'Failed' : 'Succeeded') : 'NoChange',
      converged: run.converged,
      revision: target.revision,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
      ...(retryAt === null ? {} : { retryAt }),
    };
  }

  private enforceRetry(failed: boolean): number | null {
    this.enforceFailures = failed ? this.enforceFailures + 1 : 0;
    return failed ? this.now() + retryDelay(this.enforceFailures, this.deps.retry ?? defaultRetry) : null;
  }

  /** Phases 4–6 for a new revision: apply health-gated; on failure roll back to the last good revision and schedule a retry. */
  private async applyNew(fresh: Target, previous: Target | null, pass: Pass, admittedKey: string): Promise<Outcome> {
    await this.saveRevisions({ lastAttempted: fresh.revision });
    let run: ConvergeResult;
    try {
      this.applyingTarget = fresh;
      run = await this.apply(fresh, this.deps.healthTimeoutMs, pass);
    } catch (error) {
      this.applyingTarget = null;
      if (pass.signal?.aborted) throw error;
      if (isGitfleetError(error, 'EMPTY_STATE_REFUSED')) return this.refuse(pass, fresh.revision, error);
      if (!isGitfleetError(error)) this.deps.logger.error({ err: error }, 'apply failed unexpectedly');
      return this.failedOnHost(fresh, previous, pass, codeOf(error), `revision ${fresh.revision.slice(0, 12)} failed: ${messageOf(error)}`, null);
    }
    this.applyingTarget = null;
    const verdict = this.verdict(run, fresh.revision);
    if (!verdict.ok) return this.failedOnHost(fresh, previous, pass, verdict.reason, verdict.message, run);

    this.target = fresh;
    this.admittedKey = admittedKey;
    this.enforceFailures = 0;
    await this.saveRevisions({ lastApplied: fresh.revision, rejected: null });
    await this.deps.source.prune([fresh.revision]).catch(() => undefined);
    this.clearStalled();
    this.setReady(run, fresh.revision);
    this.record(pass, fresh.revision, 'Succeeded', run);
    this.deps.logger.info({ revision: fresh.revision, intended: run.intended.length, drift: run.driftCorrected.length }, 'revision applied');
    return { result: 'Succeeded', converged: true, revision: fresh.revision };
  }

  /** Phase 6b: a new revision failed on the host: record it, roll back, retry later with backoff. */
  private async failedOnHost(fresh: Target, previous: Target | null, pass: Pass, reason: ConditionReason, message: string, run: ConvergeResult | null): Promise<Outcome> {
    this.record(pass, fresh.revision, 'Failed', run ?? {}, reason, message);
    this.deps.onEvent?.({ reason, message, level: 'error' });
    this.deps.logger.error({ revision: fresh.revision, reason, message }, 'revision failed');
    const before = rejectionOf((await this.state()).revisions);
    const failures = (before?.revision === fresh.revision && before.cause !== 'commit' ? (before.failures ?? 0) : 0) + 1;
    const retryAt = this.now() + retryDelay(failures, this.deps.retry ?? defaultRetry);
    const retryNote = `retry ${failures + 1} at ${new Date(retryAt).toISOString()}`;
    const rejection: Rejection = { revision: fresh.revision, reason: message, code: reason, cause: 'host', configKey: this.configKey, failures, nextRetryAt: retryAt, since: before?.revision === fresh.revision && before.since ? before.since : new Date(this.now()).toISOString() };
    await this.saveRevisions({ rejected: rejection });

    if (!previous) {
      // Nothing to go back to: keep what converged, enforce it, and say so.
      this.target = fresh;
      if (run) this.setReady(run, fresh.revision);
      else this.deps.recorder.setCondition('Ready', { status: false, reason, message });
      this.setStalled(reason, `${message}; ${retryNote}`);
      return { result: 'Failed', converged: false, reason, message, revision: fresh.revision, retryAt };
    }
    // Stopping now leaves the host half on the failed revision: the next start rolls it back (its retry is not due).
    checkpoint(pass.signal);
    const rollbackStarted = this.now();
    this.target = previous;
    let back: ConvergeResult;
    try {
      back = await this.apply(previous, this.deps.healthTimeoutMs, pass, false);
    } catch (error) {
      if (pass.signal?.aborted) throw error;
      this.deps.recorder.setCondition('Ready', { status: false, reason: codeOf(error), message: messageOf(error) });
      this.setStalled(reason, `${message}; rolling back to ${previous.revision.slice(0, 12)} failed too: ${messageOf(error)}; ${retryNote}`);
      this.record(pass, previous.revision, 'Failed', {}, codeOf(error), `rollback from ${fresh.revision.slice(0, 12)} failed: ${messageOf(error)}`, 'rollback', rollbackStarted);
      return { result: 'Failed', converged: false, reason, message, revision: previous.revision, retryAt };
    }
    this.setReady(back, previous.revision);
    this.setStalled(reason, `${message}; rolled back to ${previous.revision.slice(0, 12)}; ${retryNote}`);
    this.record(pass, previous.revision, 'RolledBack', back, reason, `rolled back from ${fresh.revision.slice(0, 12)}`, 'rollback', rollbackStarted);
    this.deps.logger.warn({ from: fresh.revision, to: previous.revision, converged: back.converged, retryAt: new Date(retryAt).toISOString() }, 'rolled back to the last good revision');
    return { result: 'RolledBack', converged: false, reason, message, revision: previous.revision, retryAt };
  }

  // ---- state and conditions ----

  private async state(): Promise<{ inventory: Inventory; revisions: Revisions }> {
    this.inventory ??= await this.deps.store.loadInventory();
    this.revisions ??= await this.deps.store.loadRevisions();
    return { inventory: this.inventory, revisions: this.revisions };
  }

  private async saveRevisions(update: Partial<Revisions>): Promise<void> {
    this.revisions = { ...(await this.state()).revisions, ...update };
    await this.deps.store.saveRevisions(this.revisions);
    this.deps.recorder.setRevisions(this.revisions);
  }

  /** The last good revision, from its snapshot: what the host enforces while the source is away. */
  private async restoreLastApplied(): Promise<void> {
    const { revisions } = await this.state();
    if (this.target || !revisions.lastApplied) return;
    try {
      const snapshot = await this.deps.source.snapshot(revisions.lastApplied);
      const desired = await this.evaluate(snapshot);
      await this.admit(desired, snapshot.treeDir);
      this.target = { revision: snapshot.revision, desired };
      this.admittedKey = this.configKey;
    } catch (error) {
      this.deps.logger.warn({ err: messageOf(error), revision: revisions.lastApplied }, 'cannot restore the last applied revision');
    }
  }

  private setStalled(reason: ConditionReason, message: string): void {
    this.deps.recorder.setCondition('Stalled', { status: true, reason, message });
  }

  private clearStalled(): void {
    this.deps.recorder.setCondition('Stalled', { status: false, reason: 'NoBlockingProblem', message: 'no blocking problem' });
  }

  private setReady(run: ConvergeResult, revision: string): void {
    if (run.converged && run.healthy) {
      this.deps.recorder.setCondition('Ready', { status: true, reason: 'Converged', message: `host matches revision ${revision.slice(0, 12)}` });
      return;
    }
    const failed = run.statuses.filter((s) => s.sync === 'Failed');
    const drifted = run.statuses.filter((s) => s.sync === 'Drifted' || s.sync === 'OutOfSync' || s.sync === 'Missing');
    const degraded = run.statuses.filter((s) => s.health === 'Degraded' || s.health === 'Progressing');
    const [reason, list] = failed.length ? (['ApplyFailed', failed] as const) : drifted.length ? (['DriftDetected', drifted] as const) : (['Unhealthy', degraded] as const);
    this.deps.recorder.setCondition('Ready', { status: false, reason, message: list.map((s) => `${s.id}: ${s.message ?? s.sync}`).join('; ').slice(0, 4096) || 'not converged' });
  }

  private unconverged(run: ConvergeResult): string {
    return run.statuses
      .filter((s) => s.sync !== 'InSync' && s.sync !== 'Ignored')
      .map((s) => `${s.id}: ${s.sync}${s.message ? ` (${s.message})` : ''}`)
      .join('; ')
      .slice(0, 4096);
  }
}
