// Decides whether a hello that is not authenticated by a host credential may
// enroll its host id: the fleet-wide token from the config, or a scoped token
// an admin created (expiry, maximum uses, host-id glob, tag), and throttles
// attempts per remote address and per token. Every refusal is AUTH_FAILED
// with one message naming the cause; refusals by the throttle are logged
// once per window and key, not once per attempt.
import type { Logger } from 'pino';
import { GitfleetError } from '../../shared/errors.ts';
import type { Hello } from '../../shared/protocol.ts';
import { hashSecret, secretMatches } from '../auth/secrets.ts';
import { hostMatches } from '../auth/host-pattern.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import type { FleetHead } from '../git/fleet-repo-view.ts';
import { withAncestors } from '../fleet/rollup.ts';
import { EnrollThrottle } from './enroll-throttle.ts';
import type { ThrottleLimit } from './enroll-throttle.ts';

/** Enrollment attempts (refused or new enrollments) from one remote address. */
export const ENROLL_PER_ADDRESS: ThrottleLimit = { limit: 60, windowMs: 60_000 };
/** New enrollments with one token (the fleet-wide token counts as one). */
export const ENROLL_PER_TOKEN: ThrottleLimit = { limit: 600, windowMs: 60_000 };

export interface EnrollmentGateOptions {
  store: FleetStore;
  /** The fleet repo's head as the hub last read it; null when unknown. */
  head: () => FleetHead | null;
  /** The fleet-wide token from the config, if any. */
  fleetToken?: string | undefined;
  logger: Logger;
  now: () => Date;
  perAddress?: ThrottleLimit;
  perToken?: ThrottleLimit;
}

/** Which token let a host enroll: `fleet` or a scoped token's id. */
export type EnrolledBy = { kind: 'fleet' } | { kind: 'scoped'; id: string; name: string };

/** A refusal by the throttle: the gate logged it once for the window, so the session does not log each one. */
export class ThrottledError extends GitfleetError {
  constructor(message: string) {
    super('AUTH_FAILED', message);
  }
}

export class EnrollmentGate {
  readonly #o: EnrollmentGateOptions;
  readonly #fleetHash: string | null;
  readonly #byAddress: EnrollThrottle;
  readonly #byToken: EnrollThrottle;

  constructor(o: EnrollmentGateOptions) {
    this.#o = o;
    this.#fleetHash = o.fleetToken ? hashSecret(o.fleetToken) : null;
    this.#byAddress = new EnrollThrottle(o.perAddress ?? ENROLL_PER_ADDRESS);
    this.#byToken = new EnrollThrottle(o.perToken ?? ENROLL_PER_TOKEN);
  }

  /**
   * Counts a failed authentication of any kind from `address` (a wrong
   * credential too), so guessing is throttled like enrolling.
   */
  countFailure(address: string): void {
    this.#byAddress.take(address);
  }

  /** Throws AUTH_FAILED naming the cause, or says which token admits the host (its use is counted). */
  async admit(hello: Hello, address: string): Promise<EnrolledBy> {
    this.throttle(this.#byAddress, address, `remote address ${address}`);
    const presented = hello.enrollmentToken;
    if (presented === undefined) throw new GitfleetError('AUTH_FAILED', `host ${hello.host} is not enrolled and sent no enrollment token`);
    if (this.#fleetHash !== null && secretMatches(presented, this.#fleetHash)) {
      this.throttle(this.#byToken, 'fleet', 'the fleet-wide enrollment token');
      return { kind: 'fleet' };
    }
    const token = await this.#o.store.findEnrollmentToken(hashSecret(presented));
    if (!token) throw new GitfleetError('AUTH_FAILED', 'wrong enrollment token');
    const name = `enrollment token ${token.id} (${token.name})`;
    const now = this.#o.now().toISOString();
    if (token.expiresAt !== null && token.expiresAt <= now) throw new GitfleetError('AUTH_FAILED', `${name} expired at ${token.expiresAt}`);
    if (token.maxUses !== null && token.uses >= token.maxUses) throw new GitfleetError('AUTH_FAILED', `${name} is used up (${token.maxUses} enrollments)`);
    if (token.hostPattern !== null && !hostMatches(token.hostPattern, hello.host)) {
      throw new GitfleetError('AUTH_FAILED', `${name} enrolls only host ids matching ${token.hostPattern}, not ${hello.host}`);
    }
    if (token.tag !== null) this.checkTag(token.tag, hello, name);
    this.throttle(this.#byToken, `token:${token.id}`, name);
    // Atomic in the store: of racing enrollments only those under maxUses count (and pass).
    if (!(await this.#o.store.useEnrollmentToken(token.id, now))) throw new GitfleetError('AUTH_FAILED', `${name} was used up, expired or revoked just now`);
    return { kind: 'scoped', id: token.id, name: token.name };
  }

  /**
   * The tag is checked against the repo, never against what the agent says
   * about itself: the host's directory (its path tags and cross-cutting tags
   * from host.yaml), or for a host without a directory the `place` it sends,
   * which must be a directory of the tree.
   */
  private checkTag(tag: string, hello: Hello, name: string): void {
    const head = this.#o.head();
    if (!head) throw new GitfleetError('AUTH_FAILED', `${name} is scoped to tag ${tag}, and the hub does not know the fleet repo's head (no repo configured, or not read yet)`);
    const declared = head.hosts.find((h) => h.id === hello.host);
    let tags: string[];
    if (declared) tags = [...new Set([...declared.pathTags.flatMap(withAncestors), ...declared.crossTags])];
    else if (hello.place !== '' && head.tags.includes(hello.place)) tags = withAncestors(hello.place);
    else throw new GitfleetError('AUTH_FAILED', `${name} is scoped to tag ${tag}, and host ${hello.host} is not declared in the fleet repo (no host directory, no known place)`);
    if (!tags.includes(tag)) throw new GitfleetError('AUTH_FAILED', `${name} is scoped to tag ${tag}, and host ${hello.host} is declared in ${tags.join(', ') || 'no tag'}`);
  }

  private throttle(throttle: EnrollThrottle, key: string, what: string): void {
    const verdict = throttle.take(key);
    if (verdict.allowed) return;
    const seconds = Math.ceil(verdict.retryAfterMs / 1000);
    if (verdict.firstRefusal) this.#o.logger.warn({ throttled: what, retryAfterSeconds: seconds }, `enrollment throttled: too many attempts with ${what}; refusing for ${seconds} s (logged once per window)`);
    throw new ThrottledError(`too many enrollment attempts with ${what}; retry in ${seconds} s`);
  }
}
