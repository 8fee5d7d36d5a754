// The host policy as the agent enforces it (docs/policy.md): read from the
// file the agent config's `policy` names, on every reconcile (a change is
// picked up without a restart and counts as a config change, so a revision
// the old policy refused is tried again), narrowed by the revision's repo
// policy.yaml files, then checked against the revision's desired state in the
// admit phase. A violation refuses the revision as a whole.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { GitfleetError } from '../../shared/errors.ts';
import type { Policy, Violation } from '../../shared/policy/index.ts';
import { evaluatePolicy, intersectDirs } from '../../shared/policy/index.ts';
import type { DesiredState } from '../../shared/resources.ts';
import type { ValidationIssue } from '../../repo/tree/index.ts';
import { formatIssue } from '../../repo/tree/index.ts';
import { effectivePolicy, MAX_POLICY_BYTES, parsePolicyText, readRepoPolicies } from '../../repo/policy/policy-files.ts';

/** How many problems a refusal lists (the rest are counted). */
const LISTED = 10;

export interface HostPolicyOptions {
  /** The policy file (agent config `policy`). */
  path: string;
  /** The agent config's `files.allow`: the file driver's fence, and the policy's `files.allow` when the file sets none. */
  filesAllow: readonly string[];
  logger?: Logger;
}

type Loaded = { kind: 'ok'; policy: Policy; present: boolean } | { kind: 'invalid'; error: GitfleetError };

export class HostPolicy {
  private text: string | null | undefined;
  private loaded: Loaded | null = null;
  private warnedMissing = false;

  constructor(private readonly o: HostPolicyOptions) {}

  get path(): string {
    return this.o.path;
  }

  /**
   * Re-reads the file and returns its fingerprint. Synchronous and small (the
   * file is bounded), so the reconciler asks for it before deciding whether a
   * refused head is tried again.
   */
  key(): string {
    this.refresh();
    return createHash('sha256').update(`${this.text ?? '\0absent'}\n${this.o.filesAllow.join(',')}`).digest('hex').slice(0, 16);
  }

  /** The host's own policy (before any repo policy); throws POLICY_INVALID. */
  current(): { policy: Policy; present: boolean } {
    this.refresh();
    const loaded = this.loaded!;
    if (loaded.kind === 'invalid') throw loaded.error;
    return { policy: loaded.policy, present: loaded.present };
  }

  private refresh(): void {
    let text: string | null;
    let readError: GitfleetError | null = null;
    try {
      const buffer = readFileSync(this.o.path);
      text = buffer.length > MAX_POLICY_BYTES ? `\0too-large:${buffer.length}` : buffer.toString('utf8');
      if (buffer.length > MAX_POLICY_BYTES) readError = new GitfleetError('POLICY_INVALID', `host policy ${this.o.path} is ${buffer.length} bytes; the limit is ${MAX_POLICY_BYTES}`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') text = null;
      else {
        text = `\0unreadable:${code ?? 'error'}`;
        readError = new GitfleetError('POLICY_INVALID', `cannot read host policy ${this.o.path}: ${code ?? (error as Error).message}`);
      }
    }
    if (text === this.text && this.loaded) return;
    this.text = text;
    this.loaded = readError ? { kind: 'invalid', error: readError } : this.parse(text);
    if (this.loaded.kind === 'invalid') this.o.logger?.error({ err: this.loaded.error.message }, 'host policy invalid: every new revision is refused until it is fixed');
    else if (this.loaded.present) this.o.logger?.info({ path: this.o.path }, 'host policy loaded');
  }

  private parse(text: string | null): Loaded {
    const fence = [...this.o.filesAllow];
    if (text === null) {
      if (!this.warnedMissing) this.o.logger?.warn({ path: this.o.path }, 'no host policy file: only files.allow is enforced (install the baseline, docs/policy.md)');
      this.warnedMissing = true;
      return { kind: 'ok', policy: { files: { allow: fence } }, present: false };
    }
    const parsed = parsePolicyText(this.o.path, text);
    if (parsed.policy === null) return { kind: 'invalid', error: new GitfleetError('POLICY_INVALID', `host policy ${listIssues(parsed.issues)}`) };
    const policy = parsed.policy;
    // The agent config's files.allow stays the outer fence: the policy can narrow it, never reach past it.
    const allow = policy.files?.allow === undefined ? fence : intersectDirs(policy.files.allow, fence);
    return { kind: 'ok', policy: { ...policy, files: { ...policy.files, allow } }, present: true };
  }

  /** The effective policy for a revision: the host's, narrowed by the tree's policy.yaml files. Throws POLICY_WIDENED / POLICY_INVALID. */
  async effective(desired: DesiredState, treeDir: string): Promise<{ policy: Policy; files: string[] }> {
    const host = this.current().policy;
    const effective = effectivePolicy(host, await readRepoPolicies(treeDir, desired.layers));
    if (effective.issues.length > 0) {
      const code = effective.issues.some((i) => i.code === 'POLICY_WIDENED') ? 'POLICY_WIDENED' : 'POLICY_INVALID';
      throw new GitfleetError(code, `repo policy refused: ${listIssues(effective.issues)}`);
    }
    return { policy: effective.policy, files: effective.files };
  }

  /** The admit phase: throws POLICY_VIOLATION naming each resource, its file:line and the rule. */
  async admit(desired: DesiredState, treeDir: string): Promise<void> {
    const { policy } = await this.effective(desired, treeDir);
    const violations = evaluatePolicy(policy, desired);
    if (violations.length > 0) throw new PolicyViolationError(violations);
  }
}

export class PolicyViolationError extends GitfleetError {
  constructor(readonly violations: Violation[]) {
    const listed = violations.slice(0, LISTED).map((v) => `${v.resource ? `${v.resource} ` : ''}(${v.file}:${v.line}) breaks ${v.rule}: ${v.message}`);
    const more = violations.length > LISTED ? `; and ${violations.length - LISTED} more` : '';
    super('POLICY_VIOLATION', `${violations.length} host policy violation(s), nothing applied: ${listed.join('; ')}${more}`);
    this.name = 'PolicyViolationError';
  }
}

function listIssues(issues: readonly ValidationIssue[]): string {
  const listed = issues.slice(0, LISTED).map(formatIssue).join('; ');
  return issues.length > LISTED ? `${listed}; and ${issues.length - LISTED} more` : listed;
}
