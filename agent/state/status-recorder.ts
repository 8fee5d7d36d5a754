// Keeps the host's status model (docs/agent.md, "Status"): conditions with reasons, the
// last applied and attempted revisions, the resource statuses and the recent
// attempts. Written on every exit of a reconcile, success or not.
import { processSecrets } from '../../shared/secrets/mask.ts';
import type { Attempt, Condition, ConditionReason, ConditionType, HostStatus, Refusal, ResourceStatus } from '../../shared/status.ts';

export const MAX_ATTEMPTS = 20;

export interface ConditionUpdate {
  status: boolean;
  /** One of the documented reasons (shared/status.ts ConditionReason). */
  reason: ConditionReason;
  message: string;
}

export class StatusRecorder {
  private status: HostStatus;

  constructor(
    identity: { host: string; place: string; tags: string[] },
    previous: HostStatus | null,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.status = previous && previous.host === identity.host
      ? { ...previous, ...identity }
      : {
          ...identity,
          conditions: [],
          lastAppliedRevision: null,
          lastAttemptedRevision: null,
          resources: [],
          attempts: [],
          updatedAt: this.now().toISOString(),
        };
  }

  /** What leaves the recorder (status.json, the hub) is masked: no decrypted value in it (docs/secrets.md). */
  get snapshot(): HostStatus {
    return processSecrets.maskDeep(this.status);
  }

  setIdentity(identity: { place: string; tags: string[] }): void {
    this.status = { ...this.status, ...identity };
  }

  setCondition(type: ConditionType, update: ConditionUpdate): void {
    const existing = this.status.conditions.find((c) => c.type === type);
    const unchanged = existing && existing.status === update.status;
    const condition: Condition = {
      type,
      ...update,
      message: update.message.slice(0, 4096),
      lastTransitionTime: unchanged ? existing.lastTransitionTime : this.now().toISOString(),
    };
    const order: ConditionType[] = ['Ready', 'Reconciling', 'Stalled'];
    this.status = {
      ...this.status,
      conditions: [...this.status.conditions.filter((c) => c.type !== type), condition].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type)),
      updatedAt: this.now().toISOString(),
    };
  }

  condition(type: ConditionType): Condition | undefined {
    return this.status.conditions.find((c) => c.type === type);
  }

  setResources(resources: ResourceStatus[]): void {
    this.status = { ...this.status, resources, updatedAt: this.now().toISOString() };
  }

  setRevisions(revisions: { lastApplied: string | null; lastAttempted: string | null }): void {
    this.status = { ...this.status, lastAppliedRevision: revisions.lastApplied, lastAttemptedRevision: revisions.lastAttempted, updatedAt: this.now().toISOString() };
  }

  /** The refused head and the next retry time, or null when there is none. */
  setRetryState(state: { refused: Refusal | null; nextRetryAt: string | null }): void {
    this.status = { ...this.status, refused: state.refused, nextRetryAt: state.nextRetryAt, updatedAt: this.now().toISOString() };
  }

  addAttempt(attempt: Attempt): void {
    const clip = (lines: string[]) => lines.slice(0, 1000).map((l) => l.slice(0, 1024));
    const stored: Attempt = { ...attempt, intended: clip(attempt.intended), driftCorrected: clip(attempt.driftCorrected) };
    this.status = { ...this.status, attempts: [stored, ...this.status.attempts].slice(0, MAX_ATTEMPTS), updatedAt: this.now().toISOString() };
  }
}
