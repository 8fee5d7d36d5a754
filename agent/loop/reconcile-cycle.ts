// One reconcile of the host: take the source's head (when the trigger asks
// for it), evaluate it for this host, converge, gate on health, roll back on
// failure, and record the attempt and conditions — on every exit.
import type { Logger } from 'pino';
import { isGitfleetError, messageOf } from '../../shared/errors.ts';
import type { DesiredState } from '../../shared/resources.ts';
import type { Attempt, AttemptResult, Trigger } from '../../shared/status.ts';
import type { Drivers } from '../drivers/types.ts';
import { converge, type ConvergeResult } from '../engine/converge.ts';
import type { FlapGuard } from '../engine/flap-guard.ts';
import type { Inventory } from '../engine/model.ts';
import type { DesiredSource } from '../source/desired-source.ts';
import type { StateStore, Revisions } from '../state/state-store.ts';
import type { StatusRecorder } from '../state/status-recorder.ts';

export interface Target {
  revision: string;
  desired: DesiredState;
}

export interface CycleDeps {
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
  /** Extra checks on a desired state before it is applied (e.g. file paths allowed by this agent). */
  admit?: (desired: DesiredState) => void;
  onEvent?: (event: { reason: string; message: string; resource?: string; level: 'info' | 'warning' | 'error' }) => void;
  now?: () => number;
}

export interface CycleOutcome {
  result: AttemptResult | 'NoChange';
  converged: boolean;
  reason?: string;
  message?: string;
  revision: string | null;
}

const syncsSource: ReadonlySet<Trigger> = new Set(['startup', 'poll', 'hub', 'manual']);

export class ReconcileCycle {
  private target: Target | null = null;
  private inventory: Inventory | null = null;
  private revisions: Revisions | null = null;

  constructor(private readonly deps: CycleDeps) {}

  get current(): Target | null {
    return this.target;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

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

  private async loadTarget(revision: string, treeDir: string): Promise<Target> {
    const desired = await this.deps.load(treeDir);
    this.deps.admit?.(desired);
    return { revision, desired };
  }

  /** The last good revision, from its snapshot: what the host enforces while the source is away. */
  private async restoreLastApplied(): Promise<void> {
    const { revisions } = await this.state();
    if (this.target || !revisions.lastApplied) return;
    try {
      const snapshot = await this.deps.source.snapshot(revisions.lastApplied);
      this.target = await this.loadTarget(snapshot.revision, snapshot.treeDir);
    } catch (error) {
      this.deps.logger.warn({ err: messageOf(error), revision: revisions.lastApplied }, 'cannot restore the last applied revision');
    }
  }

  private record(trigger: Trigger, revision: string, started: number, result: AttemptResult, run: Partial<ConvergeResult>, reason?: string, message?: string): void {
    const attempt: Attempt = {
      trigger,
      revision,
      startedAt: new Date(started).toISOString(),
      durationMs: this.now() - started,
      result,
      intended: run.intended ?? [],
      driftCorrected: run.driftCorrected ?? [],
      ...(reason === undefined ? {} : { reason }),
      ...(message === undefined ? {} : { message: message.slice(0, 4096) }),
    };
    this.deps.recorder.addAttempt(attempt);
  }

  private async apply(target: Target, healthTimeoutMs: number, trigger?: Trigger): Promise<ConvergeResult> {
    const { inventory } = await this.state();
    const result = await converge(this.deps.drivers, target.desired, inventory, {
      revision: target.revision,
      healthTimeoutMs,
      correctReportedDrift: trigger === 'manual',
      ...(this.deps.healthSettleMs === undefined ? {} : { settleMs: this.deps.healthSettleMs }),
      flapGuard: this.deps.flapGuard,
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
    return result;
  }

  private setStalled(reason: string, message: string): void {
    this.deps.recorder.setCondition('Stalled', { status: true, reason, message });
  }

  private clearStalled(): void {
    this.deps.recorder.setCondition('Stalled', { status: false, reason: 'Progressing', message: 'no blocking problem' });
  }

  private setReady(run: ConvergeResult, revision: string): void {
    if (run.converged && run.healthy) {
      this.deps.recorder.setCondition('Ready', { status: true, reason: 'Converged', message: `host matches revision ${revision.slice(0, 12)}` });
      return;
    }
    const failed = run.statuses.filter((s) => s.sync === 'Failed');
    const drifted = run.statuses.filter((s) => s.sync === 'Drifted' || s.sync === 'Missing');
    const degraded = run.statuses.filter((s) => s.health === 'Degraded' || s.health === 'Progressing');
    const [reason, list] = failed.length ? ['ApplyFailed', failed] : drifted.length ? ['DriftDetected', drifted] : ['Unhealthy', degraded];
    this.deps.recorder.setCondition('Ready', { status: false, reason, message: list.map((s) => `${s.id}: ${s.message ?? s.sync}`).join('; ').slice(0, 4096) || 'not converged' });
  }

  /** Runs one reconcile; never throws for host or source problems (they are recorded). */
  async run(trigger: Trigger): Promise<CycleOutcome> {
    const started = this.now();
    this.deps.recorder.setCondition('Reconciling', { status: true, reason: 'Progressing', message: `reconcile triggered by ${trigger}` });
    try {
      return await this.runInner(trigger, started);
    } finally {
      this.deps.recorder.setCondition('Reconciling', { status: false, reason: 'Idle', message: `last reconcile triggered by ${trigger}` });
      await this.deps.store.saveStatus(this.deps.recorder.snapshot).catch((error: unknown) => this.deps.logger.error({ err: messageOf(error) }, 'cannot write status'));
    }
  }

  private async runInner(trigger: Trigger, started: number): Promise<CycleOutcome> {
    await this.restoreLastApplied();
    const { revisions } = await this.state();
    let fresh: Target | null = null;

    if (syncsSource.has(trigger) || !this.target) {
      try {
        const snapshot = await this.deps.source.sync({ lastApplied: revisions.lastApplied });
        const isNew = snapshot.revision !== this.target?.revision && snapshot.revision !== revisions.rejected?.revision;
        if (isNew) {
          try {
            fresh = await this.loadTarget(snapshot.revision, snapshot.treeDir);
          } catch (error) {
            const message = `revision ${snapshot.revision.slice(0, 12)} refused: ${messageOf(error)}`;
            await this.saveRevisions({ lastAttempted: snapshot.revision, rejected: { revision: snapshot.revision, reason: messageOf(error) } });
            this.record(trigger, snapshot.revision, started, 'Refused', {}, isGitfleetError(error) ? error.code : 'INVALID', message);
            this.setStalled('RevisionRefused', message);
            this.deps.onEvent?.({ reason: 'RevisionRefused', message, level: 'error' });
            this.deps.logger.error({ revision: snapshot.revision, err: messageOf(error) }, 'revision refused; keeping the last good revision');
          }
        } else if (snapshot.revision === this.target?.revision) {
          this.clearStalled();
        }
      } catch (error) {
        const code = isGitfleetError(error) ? error.code : 'GIT_FAILED';
        const message = `source ${this.deps.source.description}: ${messageOf(error)}`;
        if (isGitfleetError(error) && !error.retryable) {
          this.setStalled(code, message);
          this.record(trigger, revisions.lastAttempted ?? 'unknown', started, 'Refused', {}, code, message);
        } else {
          this.deps.recorder.setCondition('Stalled', { status: false, reason: code, message: `${message} (retrying; enforcing the last good revision)` });
        }
        this.deps.onEvent?.({ reason: code, message, level: 'warning' });
        this.deps.logger.warn({ code, err: messageOf(error) }, 'source unavailable; enforcing the last good revision');
        if (!this.target) return { result: 'Failed', converged: false, reason: code, message, revision: null };
      }
    }

    if (fresh) return this.applyNew(fresh, trigger, started);
    if (!this.target) {
      return { result: 'Refused', converged: false, reason: 'NoGoodRevision', message: 'no revision has been applied yet and the head was refused', revision: null };
    }
    return this.enforce(this.target, trigger, started);
  }

  /** Keeps the host at the current revision: drift is corrected, nothing new is applied. */
  private async enforce(target: Target, trigger: Trigger, started: number): Promise<CycleOutcome> {
    try {
      const run = await this.apply(target, 0, trigger);
      this.setReady(run, target.revision);
      const changed = run.intended.length + run.driftCorrected.length + run.failures.length > 0;
      // Steps that ran but left the host unconverged (something died again) are a failed attempt, not a success.
      const failed = run.failures.length > 0 || (changed && !run.converged);
      const reason = run.failures[0]?.code ?? (failed ? 'NOT_CONVERGED' : undefined);
      const message = run.failures[0]?.message ?? (failed ? this.unconverged(run) : undefined);
      if (changed) this.record(trigger, target.revision, started, failed ? 'Failed' : 'Succeeded', run, reason, message);
      return { result: changed ? (failed ? 'Failed' : 'Succeeded') : 'NoChange', converged: run.converged, revision: target.revision, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
    } catch (error) {
      return this.failed(error, trigger, target.revision, started);
    }
  }

  private unconverged(run: ConvergeResult): string {
    return run.statuses
      .filter((s) => s.sync !== 'InSync' && s.sync !== 'Ignored')
      .map((s) => `${s.id}: ${s.sync}${s.message ? ` (${s.message})` : ''}`)
      .join('; ')
      .slice(0, 4096);
  }

  private failed(error: unknown, trigger: Trigger, revision: string, started: number): CycleOutcome {
    const code = isGitfleetError(error) ? error.code : 'INTERNAL';
    const message = messageOf(error);
    this.record(trigger, revision, started, 'Failed', {}, code, message);
    this.deps.recorder.setCondition('Ready', { status: false, reason: code, message });
    if (!isGitfleetError(error)) this.deps.logger.error({ err: error }, 'reconcile failed unexpectedly');
    return { result: 'Failed', converged: false, reason: code, message, revision };
  }

  /** Applies a new revision, health-gated; rolls back to the last good revision when it fails. */
  private async applyNew(fresh: Target, trigger: Trigger, started: number): Promise<CycleOutcome> {
    const previous = this.target;
    await this.saveRevisions({ lastAttempted: fresh.revision });
    let run: ConvergeResult;
    try {
      run = await this.apply(fresh, this.deps.healthTimeoutMs, trigger);
    } catch (error) {
      if (isGitfleetError(error, 'EMPTY_STATE_REFUSED')) {
        await this.saveRevisions({ rejected: { revision: fresh.revision, reason: error.message } });
        this.setStalled('EmptyStateRefused', error.message);
        this.record(trigger, fresh.revision, started, 'Refused', {}, error.code, error.message);
        if (previous) return { ...(await this.enforce(previous, trigger, this.now())), result: 'Refused', reason: error.code, message: error.message };
        return { result: 'Refused', converged: false, reason: error.code, message: error.message, revision: null };
      }
      return this.failed(error, trigger, fresh.revision, started);
    }

    const ok = run.failures.length === 0 && run.healthy && run.converged;
    if (ok) {
      this.target = fresh;
      await this.saveRevisions({ lastApplied: fresh.revision, rejected: null });
      await this.deps.source.prune([fresh.revision]).catch(() => undefined);
      this.clearStalled();
      this.setReady(run, fresh.revision);
      this.record(trigger, fresh.revision, started, 'Succeeded', run);
      this.deps.logger.info({ revision: fresh.revision, intended: run.intended.length, drift: run.driftCorrected.length }, 'revision applied');
      return { result: 'Succeeded', converged: true, revision: fresh.revision };
    }

    const problems = run.failures.length
      ? run.failures.map((f) => `${f.resource ?? ''}: ${f.message}`)
      : run.statuses.filter((s) => s.health !== 'Healthy' || (s.sync !== 'InSync' && s.sync !== 'Ignored')).map((s) => `${s.id}: ${s.sync}/${s.health}${s.message ? ` (${s.message})` : ''}`);
    const reason = run.failures.length ? 'ApplyFailed' : 'HealthCheckFailed';
    const message = `revision ${fresh.revision.slice(0, 12)} failed: ${problems.join('; ')}`.slice(0, 4096);
    this.record(trigger, fresh.revision, started, 'Failed', run, reason, message);
    this.deps.onEvent?.({ reason, message, level: 'error' });
    this.deps.logger.error({ revision: fresh.revision, problems }, 'revision failed');
    await this.saveRevisions({ rejected: { revision: fresh.revision, reason: message } });

    if (!previous) {
      // Nothing to go back to: keep what converged and say so.
      this.target = fresh;
      this.setReady(run, fresh.revision);
      this.setStalled(reason, message);
      return { result: 'Failed', converged: false, reason, message, revision: fresh.revision };
    }
    const rollbackStarted = this.now();
    const back = await this.apply(previous, this.deps.healthTimeoutMs);
    this.target = previous;
    this.setReady(back, previous.revision);
    this.setStalled(reason, `${message}; rolled back to ${previous.revision.slice(0, 12)}`);
    this.record('rollback', previous.revision, rollbackStarted, 'RolledBack', back, reason, `rolled back from ${fresh.revision.slice(0, 12)}`);
    this.deps.logger.warn({ from: fresh.revision, to: previous.revision, converged: back.converged }, 'rolled back to the last good revision');
    return { result: 'RolledBack', converged: false, reason, message, revision: previous.revision };
  }
}

